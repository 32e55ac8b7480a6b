"""The HTTP edge: who is asking (access), the routes of every domain, the API description."""
