"""Small helpers shared by the server's gRPC interceptors."""
