"""The `hybridagent` CLI and the plain run-the-worker / run-the-workflow scripts."""
