"""Shared fixtures. Helpers that test modules import (paths to ../shared, skip marks, generators)
are in helpers.py: test modules never import conftest."""

from __future__ import annotations

import pytest
from PIL import Image

from helpers import generated_images


@pytest.fixture(scope="session")
def images() -> dict[str, Image.Image]:
    return generated_images()
