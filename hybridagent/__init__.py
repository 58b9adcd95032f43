"""hybridagent: durable OpenAI Agents SDK agents on Temporal, on local and cloud models."""

__version__ = "0.1.0"
