"""Reaching the served summarizer: the serving client, the local vLLM server and adapter loading.

Every caller (batch inference, evaluation, monitoring, the load test) goes through `client`, so retries,
warm-up and answer parsing are the same everywhere.
"""
