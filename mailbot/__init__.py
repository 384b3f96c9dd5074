"""mailbot: the company inbox as an IICRC continuing-education desk."""

__version__ = "0.1.0"
