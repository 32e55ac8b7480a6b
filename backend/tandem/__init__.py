"""Tandem: homework between sessions for couples in sex or couples therapy."""
