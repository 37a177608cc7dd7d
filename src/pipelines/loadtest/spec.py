"""What one load-test run does, resolved from the settings and the command line, as one JSON document.

The runner writes it into the report folder and hands its path to the Locust process: the Locust side
then needs no settings loading of its own, and the report records exactly what ran.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from common.settings import LoadTestProfile, LoadTestSettings


class RunSpec(BaseModel):
    model: str  # the adapter (or base model) name requests put in `model`
    profile: str  # the profile's name in config/pipeline.yaml
    traffic: LoadTestProfile  # that profile, with the command line's overrides
    api_key_env: str
    request_timeout_s: float
    max_tokens: int
    temperature: float
    snippets: tuple[int, int]
    corpus_products: int
    seed: int
    payloads_file: str  # the review snippets, made for `seed` and `corpus_products`

    @classmethod
    def resolve(
        cls,
        settings: LoadTestSettings,
        model: str,
        profile: str | None = None,
        duration_s: float | None = None,
        users: int | None = None,
    ) -> RunSpec:
        """The run `settings` describe for `model`, with the named profile and any overrides applied."""
        name = profile or settings.profile
        if name not in settings.profiles:
            raise ValueError(f"unknown load-test profile {name!r}; known: {sorted(settings.profiles)}")
        overrides = {"duration_s": duration_s, "users": users}
        traffic = LoadTestProfile.model_validate(
            settings.profiles[name].model_dump() | {k: v for k, v in overrides.items() if v is not None}
        )
        return cls(
            model=model,
            profile=name,
            traffic=traffic,
            **settings.model_dump(
                include={
                    "api_key_env",
                    "request_timeout_s",
                    "max_tokens",
                    "temperature",
                    "snippets",
                    "corpus_products",
                    "seed",
                    "payloads_file",
                }
            ),
        )

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path | str) -> RunSpec:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
