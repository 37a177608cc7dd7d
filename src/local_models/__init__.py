"""Builders of the models the `local` profile runs on, made offline from the sample data.

Tooling, not pipeline steps: `make local-models` runs them once, tests build their own. The pipelines only
load what they write (`common.toxicity`, the training step's base model), so neither this
package nor `sample_source` is part of the MWAA bundle or the images.

    python -m local_models.toxicity --out .local/models/toxicity --seed 0
    python -m local_models.tiny_base --out .local/models/base/tiny-llama --seed 0
"""
