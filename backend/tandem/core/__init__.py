"""The core every domain stands on; it imports no domain."""
