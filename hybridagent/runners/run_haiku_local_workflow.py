"""Start the local haiku sample and print its answer, like the samples' run_*_workflow.py.

python -m hybridagent.runners.run_haiku_local_workflow ["What's the weather in Tokyo?"]
"""

from __future__ import annotations

import sys

from hybridagent.runners.sample import run_sample

if __name__ == "__main__":
    run_sample("LocalHaikuWorkflow", sys.argv[1:])
