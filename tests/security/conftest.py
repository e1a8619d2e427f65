"""Fixtures for the security tests: hostile tenants against a real server. Each module
says which server it needs (token file, flags) by overriding `server_config`."""
