from django.db import models


class FleetNote(models.Model):
    """The benchmark's table; its columns come from whichever migration package is active."""

    text = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.text
