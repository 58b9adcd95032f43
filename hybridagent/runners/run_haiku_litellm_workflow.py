"""Start the LiteLLM haiku sample (Claude by default; the worker needs ANTHROPIC_API_KEY).

python -m hybridagent.runners.run_haiku_litellm_workflow ["PROMPT" [MODEL]]
"""

from __future__ import annotations

import sys

from hybridagent.runners.sample import run_sample

if __name__ == "__main__":
    run_sample("LitellmHaikuWorkflow", sys.argv[1:])
