"""Embedding models: the document embedder, its micro-batcher and the query encoder."""
