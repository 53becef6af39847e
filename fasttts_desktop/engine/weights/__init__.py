"""Weights and voices: where they come from (user paths, the hub, the offline int8 ONNX), their checked
cache, kokoro's config, and building kokoro's KModel around them."""
