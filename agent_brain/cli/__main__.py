"""``python -m agent_brain.cli``."""

from agent_brain.cli import main

main()
