"""A stand-in training script for the runner tests: records the SageMaker contract it was started with."""

from __future__ import annotations

import json
import os
import sys

if __name__ == "__main__":
    recorded = {"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items() if k.startswith("SM_")}}
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "contract.json"), "w") as handle:
        json.dump(recorded, handle)
