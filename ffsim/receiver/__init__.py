"""The built-in receiver: validation (sans-I/O) and the servers that use it."""
