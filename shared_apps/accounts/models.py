"""Staff users (global, in `public`) and their memberships in clinics.

A user is one person with one email address across the platform; what that person may do
in a clinic comes only from their Membership there.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email).strip(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    # Platform operators run the fleet from the public site; they get no clinic access.
    is_operator = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_case_insensitive"),
        ]

    def __str__(self) -> str:
        return self.email


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Practice manager"
    PRACTITIONER = "practitioner", "Practitioner"
    ASSISTANT = "assistant", "Assistant"
    RECEPTIONIST = "receptionist", "Receptionist"
    BILLING = "billing", "Billing"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(
        "clinics.Clinic", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="membership_one_per_clinic"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.clinic_id} as {self.role}"


class SignInThrottle(models.Model):
    """Failed sign-ins of one email address on one clinic, and the lock they earned.

    In PostgreSQL rather than Redis so the lock holds when Redis is down. Keyed by the
    address as typed (lower-cased), whether or not an account exists: the lock must not
    tell an attacker which addresses are real. `clinic` is empty for the public site's
    operator sign-in, which is throttled the same way.
    """

    clinic = models.ForeignKey(
        "clinics.Clinic",
        on_delete=models.CASCADE,
        related_name="sign_in_throttles",
        null=True,
        blank=True,
    )
    email = models.CharField(max_length=254)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "email"], name="sign_in_throttle_per_email"),
            # NULLs are distinct in a unique index: the public site needs its own.
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(clinic__isnull=True),
                name="sign_in_throttle_per_email_public",
            ),
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="sign_in_throttle_email_lower"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} on {self.clinic_id}: {self.failures} failures"
