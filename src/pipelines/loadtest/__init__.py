"""The release engineers' load test of a served summarizer model (vLLM, OpenAI-compatible, LoRA adapters).

    python -m pipelines.loadtest --host https://vllm.staging.example.com --model challenger --report-dir DIR

Locust sends summarizer-shaped chat completions (`locustfile`, bodies from `payloads`) in bursty traffic
(`traffic`) to the one endpoint it is given, and `runner` gates the result on `thresholds.load_test`
(`report`). Locust and gevent live only in the environment that runs this (requirements-loadtest.txt):
nothing here is imported by a DAG.
"""
