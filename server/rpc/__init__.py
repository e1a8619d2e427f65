"""Small helpers shared by the server's gRPC interceptors and its composition root:
rewrapping a handler of any shape (handlers), a context whose trailers merge
(trailers), reflection served as v1 and v1alpha (reflection)."""
