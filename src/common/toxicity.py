"""Toxicity scores from Detoxify checkpoints, one checkpoint per language, batched inference on CPU.

Detoxify loads the checkpoint (model, tokenizer, class names) and nothing else: its `predict` pads every
call to the longest text and runs one batch as given. Here texts are sorted by length and cut into
batches of `batch_size`, so a batch pads to texts of about the same length; inputs are truncated to
`max_tokens`; the `toxicity` probability comes back in input order.

Checkpoints are Detoxify's format: a torch file holding `config` and `state_dict`, where
`config.arch.args.model_type` names the Hugging Face config. Detoxify downloads that config from the
model hub unless it is a local folder, so every checkpoint travels with its config and tokenizer in a
sibling folder named after it (`checkpoint.ckpt` beside `checkpoint/`). A checkpoint whose
`model_type` is not that local folder (an upstream Detoxify file, or one built on another machine) is
rewritten once into the cache with `model_type` pointing at the folder.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from detoxify import Detoxify

from common import storage
from common.settings import IngestionSettings

log = logging.getLogger(__name__)

DEFAULT = "default"
TOXICITY = "toxicity"


class ToxicityModelError(RuntimeError):
    """A configured checkpoint is missing, unreadable, or not loadable offline."""


def config_folder(checkpoint: Path) -> Path:
    """The folder with the Hugging Face config and tokenizer that travels with a checkpoint."""
    if not checkpoint.suffix:
        raise ToxicityModelError(f"a checkpoint file needs an extension (.ckpt): {checkpoint}")
    return checkpoint.with_suffix("")


def _arch_args(checkpoint: Path) -> dict[str, Any]:
    try:
        # mmap: only the small config is read; the tensors stay on disk until Detoxify loads them.
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
    except RuntimeError:  # a legacy (non-zip) torch file cannot be memory-mapped
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise ToxicityModelError(
            f"{checkpoint} is not a Detoxify checkpoint (needs `config` and `state_dict`)"
        )
    return loaded["config"]["arch"]["args"]


def _localize(checkpoint: Path, cache_dir: Path) -> Path:
    """A checkpoint whose `model_type` is its local config folder: the file itself, or a rewritten copy."""
    folder = config_folder(checkpoint)
    if not (folder / "config.json").is_file():
        raise ToxicityModelError(
            f"the Hugging Face config of {checkpoint} is missing: expected {folder}/config.json and its "
            "tokenizer files (Detoxify would otherwise download them, which fails offline)"
        )
    model_type = str(_arch_args(checkpoint).get("model_type", ""))
    if Path(model_type).resolve() == folder.resolve():
        return checkpoint
    stat = checkpoint.stat()
    key = hashlib.sha256(f"{checkpoint.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    localized = cache_dir / "localized" / key[:16] / checkpoint.name
    if not localized.is_file():
        log.info(
            "rewriting %s: its model_type %r becomes the local folder %s", checkpoint, model_type, folder
        )
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
        loaded["config"]["arch"]["args"]["model_type"] = str(folder.resolve())
        localized.parent.mkdir(parents=True, exist_ok=True)
        partial = localized.with_suffix(".partial")
        torch.save(loaded, partial)
        partial.replace(localized)
    return localized


def _fetch(uri: str, cache_dir: Path) -> Path:
    """A local path for a checkpoint URI; an s3:// checkpoint and its config folder are downloaded once."""
    if storage.is_local(uri):
        checkpoint = Path(storage.local_path(uri))
        if not checkpoint.is_file():
            raise ToxicityModelError(
                f"toxicity checkpoint {uri} does not exist; build the local model with "
                "`python -m local_models.toxicity` or fix ingestion.toxicity.checkpoints"
            )
        return checkpoint
    fs, path = storage.fs_and_path(uri)
    if not fs.exists(path):
        raise ToxicityModelError(f"toxicity checkpoint {uri} does not exist")
    # The object's identity (ETag on S3) is part of the key, so a new upload is fetched again.
    key = hashlib.sha256(f"{uri}:{fs.ukey(path)}".encode()).hexdigest()[:16]
    local = cache_dir / "downloads" / key / posixpath.basename(path)
    if not local.is_file():
        folder_uri = posixpath.splitext(uri)[0]
        if not storage.list_files(folder_uri):
            raise ToxicityModelError(
                f"the config folder of {uri} is missing: expected files under {folder_uri}/"
            )
        storage.download_dir(folder_uri, str(config_folder(local)))
        partial = local.with_suffix(".partial")
        fs.get(path, str(partial))
        partial.replace(local)
    return local


@dataclass
class _Model:
    model: torch.nn.Module
    tokenizer: Any
    toxicity_index: int


class ToxicityScorer:
    """The probability of Detoxify's `toxicity` label for each text, with the checkpoint of its language.

    Each distinct checkpoint is loaded once, on first use, so a run that meets only one language loads
    one model.
    """

    def __init__(
        self,
        checkpoints: dict[str, str],
        *,
        batch_size: int = 32,
        max_tokens: int = 256,
        quantize_int8: bool = False,
        num_threads: int = 0,
        cache_dir: str | Path | None = None,
    ) -> None:
        if not checkpoints:
            raise ToxicityModelError("no toxicity checkpoint is configured (ingestion.toxicity.checkpoints)")
        self.checkpoints = dict(checkpoints)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.quantize_int8 = quantize_int8
        self.num_threads = num_threads
        self.cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "llmops-toxicity"
        self._models: dict[str, _Model] = {}

    @classmethod
    def from_settings(cls, ingestion: IngestionSettings) -> ToxicityScorer:
        settings = ingestion.toxicity
        return cls(
            settings.checkpoints,
            batch_size=settings.batch_size,
            max_tokens=settings.max_tokens,
            quantize_int8=settings.quantize_int8,
            num_threads=settings.num_threads,
            cache_dir=settings.cache_dir,
        )

    def checkpoint_for(self, language: str) -> str:
        """The checkpoint URI that scores texts of `language`: its own, else `default`."""
        uri = self.checkpoints.get(language) or self.checkpoints.get(DEFAULT)
        if uri is None:
            raise ToxicityModelError(
                f"no toxicity checkpoint for language {language!r} and no `default` in "
                f"ingestion.toxicity.checkpoints (configured: {sorted(self.checkpoints)})"
            )
        return uri

    @property
    def loaded(self) -> list[str]:
        """The checkpoint URIs loaded so far, in load order."""
        return list(self._models)

    def model_for(self, language: str) -> torch.nn.Module:
        """The model that scores `language` (loaded on first use), as inference runs it."""
        return self._load(self.checkpoint_for(language)).model

    def _load(self, uri: str) -> _Model:
        if uri in self._models:
            return self._models[uri]
        if self.num_threads > 0:
            torch.set_num_threads(self.num_threads)
        local = _fetch(uri, self.cache_dir)
        checkpoint = _localize(local, self.cache_dir)
        try:
            detoxify = Detoxify(
                checkpoint=str(checkpoint), device="cpu", huggingface_config_path=str(config_folder(local))
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ToxicityModelError(f"toxicity checkpoint {uri} cannot be loaded: {exc}") from exc
        if TOXICITY not in detoxify.class_names:
            raise ToxicityModelError(f"{uri} has no `{TOXICITY}` class (classes: {detoxify.class_names})")
        model = detoxify.model.eval()
        if self.quantize_int8:
            with warnings.catch_warnings():
                # torch announces a move of eager quantization to torchao; the API still works on 2.13.
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        loaded = _Model(model, detoxify.tokenizer, detoxify.class_names.index(TOXICITY))
        self._models[uri] = loaded
        log.info("loaded toxicity checkpoint %s (int8: %s)", uri, self.quantize_int8)
        return loaded

    def _predict(self, loaded: _Model, texts: list[str]) -> list[float]:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        scores = [0.0] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                inputs = loaded.tokenizer(
                    [texts[i] for i in batch],
                    truncation=True,
                    max_length=self.max_tokens,
                    padding="longest",
                    return_tensors="pt",
                )
                logits = loaded.model(**inputs).logits
                probabilities = torch.sigmoid(logits[:, loaded.toxicity_index]).tolist()
                for i, probability in zip(batch, probabilities, strict=True):
                    scores[i] = probability
        return scores

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]:
        """The `toxicity` probability of each text, in input order."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        by_checkpoint: dict[str, list[int]] = {}
        for i, language in enumerate(languages):
            by_checkpoint.setdefault(self.checkpoint_for(language), []).append(i)
        scores = [0.0] * len(texts)
        for uri, indices in by_checkpoint.items():
            predicted = self._predict(self._load(uri), [texts[i] for i in indices])
            for i, probability in zip(indices, predicted, strict=True):
                scores[i] = probability
        return scores
