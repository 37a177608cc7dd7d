"""The registered summarizer: one MLflow pyfunc that bundles everything needed to reproduce its answers.

A model version holds the LoRA adapter and its tokenizer, the prompt file it was trained with, and an
inference configuration; the base model is referenced (a folder or an s3:// prefix, with its id), not
copied: a base model is gigabytes and is shared by every adapter. `mlflow.pyfunc.load_model(
"models:/<name>/<version>")` rebuilds base + adapter and renders prompts through the bundled contract,
so the same inputs give the same tokens in the process that trained it and in any process after.

Input: a DataFrame with a `snippets` column (a list of {"text", "star_rating"} per row). Output: one
dict per row with the raw answer `text`, the parsed `summary` (or None) and the `format_error` reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from mlflow.pyfunc import PythonModel, PythonModelContext

from common import storage
from common.tracking import ADAPTER_ARTIFACT

ADAPTER = ADAPTER_ARTIFACT  # what serving exports (common.serving.adapters)
PROMPT = "prompt"
INFERENCE = "inference"


class SummarizerModel(PythonModel):
    """Base model + LoRA adapter + prompt contract, greedy by default so answers are reproducible."""

    def load_context(self, context: PythonModelContext) -> None:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from common.prompts import PromptContract

        self.config = json.loads(Path(context.artifacts[INFERENCE]).read_text(encoding="utf-8"))
        self.contract = PromptContract.from_file(context.artifacts[PROMPT])
        if self.contract.sha256 != self.config["prompt_sha256"]:
            raise ValueError("the bundled prompt file does not match the prompt the adapter was trained with")
        adapter = context.artifacts[ADAPTER]
        reference = self.config["base_model"]
        cache_name = reference.split("://", 1)[-1].strip("/")
        base = storage.model_dir(reference, self.config.get("cache_dir", "/tmp/llmops/models"), cache_name)
        dtype = getattr(torch, self.config.get("torch_dtype", "float32"))
        self.tokenizer = AutoTokenizer.from_pretrained(adapter)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
        self.model = PeftModel.from_pretrained(model, adapter).eval()

    def generate(self, snippets: list[dict[str, Any]]) -> str:
        import torch

        prompt = self.contract.render_prompt(self.tokenizer, snippets)
        encoded = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        generation = self.config["generation"]
        with torch.no_grad():
            output = self.model.generate(
                **encoded,
                max_new_tokens=generation["max_new_tokens"],
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        # One sequence of ids decodes to one string.
        answer = self.tokenizer.decode(output[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        return cast(str, answer)

    # No type hints here: MLflow would read them as the model's input schema.
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        from common.prompts import SummaryFormatError, answer_dict

        rows = model_input["snippets"] if hasattr(model_input, "columns") else model_input
        answers = []
        for snippets in rows:
            text = self.generate(list(snippets))
            try:
                summary = answer_dict(self.contract.parse_summary(text, len(snippets)))
                error = None
            except SummaryFormatError as failure:
                summary, error = None, failure.reason
            answers.append({"text": text, "summary": summary, "format_error": error})
        return answers
