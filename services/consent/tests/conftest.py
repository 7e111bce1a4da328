"""Shared by the consent tests: the test kit on the path, and a store on a fresh database."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
