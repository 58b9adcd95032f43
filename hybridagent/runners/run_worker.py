"""Run a hybridagent worker, like the samples' `run_worker.py`.

python -m hybridagent.runners.run_worker
"""

from hybridagent.workers.main import main

if __name__ == "__main__":
    main()
