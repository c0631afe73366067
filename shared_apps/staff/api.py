"""Staff management over `/api/v1/staff/`: invites and members, for owners and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn, cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.roles import Capability
from shared_apps.staff.errors import StaffChangeRefused
from shared_apps.staff.models import Invite
from shared_apps.staff.selectors import (
    get_invite_for,
    get_membership_for,
    invites_pending,
    last_sign_ins,
    members_of,
)
from shared_apps.staff.services import (
    invite_create,
    invite_resend,
    invite_revoke,
    membership_update,
)

STAFF_MANAGE = Capability.STAFF_MANAGE.value


class InviteSerializer(serializers.ModelSerializer[Invite]):
    status = serializers.ChoiceField(
        choices=["pending", "expired", "accepted", "revoked"],
        read_only=True,
        help_text="Lists show pending and expired invites; expired ones can be re-sent.",
    )
    invited_by = serializers.SerializerMethodField()

    class Meta:
        model = Invite
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "last_sent_at",
            "sent_count",
            "expires_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_invited_by(self, invite: Invite) -> str | None:
        inviter = invite.invited_by
        return (inviter.full_name or inviter.email) if inviter is not None else None


class InviteCreateSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberSerializer(serializers.ModelSerializer[Membership]):
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    last_sign_in_at = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = [
            "id",
            "user_id",
            "full_name",
            "email",
            "role",
            "is_active",
            "joined_at",
            "last_sign_in_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_last_sign_in_at(self, membership: Membership) -> datetime | None:
        signed_in: dict[int, datetime] = self.context.get("last_sign_ins", {})
        return signed_in.get(membership.user_id)


class MemberUpdateSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


def _refused(refusal: StaffChangeRefused) -> NoReturn:
    """A business rule's "no" as the API's 403 (the caller's role) or 400 (the request)."""
    if refusal.forbidden:
        raise exceptions.PermissionDenied(refusal.message)
    raise exceptions.ValidationError({refusal.field or "non_field_errors": refusal.messages})


def _clinic(request: Request) -> Any:
    return request.tenant  # type: ignore[attr-defined]


def _actor(request: Request) -> User:
    return cast(User, request.user)


class InviteListApi(generics.ListAPIView[Invite]):
    """Open invites (pending and expired); POST invites someone or re-sends their invite."""

    access = STAFF_MANAGE
    serializer_class = InviteSerializer

    def get_queryset(self) -> QuerySet[Invite]:
        return invites_pending(clinic=_clinic(self.request))

    @extend_schema(operation_id="staff_invites_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="staff_invites_create",
        request=InviteCreateSerializer,
        responses={201: InviteSerializer, 200: InviteSerializer},
        description=(
            "Invites `email` as `role` and emails them a link valid 72 hours. If the address "
            "already has an open invite, it is re-sent instead (new link, 200)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = InviteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            invite = invite_create(
                actor=_actor(request),
                clinic=_clinic(request),
                email=data.validated_data["email"],
                role=data.validated_data["role"],
            )
        except StaffChangeRefused as refusal:
            _refused(refusal)
        created = invite.sent_count == 1
        return Response(
            InviteSerializer(invite).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class InviteDetailApi(APIView):
    """One open invite; DELETE revokes it (its link stops working)."""

    access = STAFF_MANAGE

    @extend_schema(operation_id="staff_invites_retrieve", responses=InviteSerializer)
    def get(self, request: Request, invite_id: int) -> Response:
        invite = get_invite_for(clinic=_clinic(request), invite_id=invite_id)
        return Response(InviteSerializer(invite).data)

    @extend_schema(operation_id="staff_invites_revoke", responses={204: None})
    def delete(self, request: Request, invite_id: int) -> Response:
        invite = get_invite_for(clinic=_clinic(request), invite_id=invite_id)
        try:
            invite_revoke(actor=_actor(request), invite=invite)
        except StaffChangeRefused as refusal:
            _refused(refusal)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteResendApi(APIView):
    """Send the invite again: a new link valid 72 hours; the old link stops working."""

    access = STAFF_MANAGE

    @extend_schema(operation_id="staff_invites_resend", request=None, responses=InviteSerializer)
    def post(self, request: Request, invite_id: int) -> Response:
        invite = get_invite_for(clinic=_clinic(request), invite_id=invite_id)
        try:
            invite = invite_resend(actor=_actor(request), invite=invite)
        except StaffChangeRefused as refusal:
            _refused(refusal)
        return Response(InviteSerializer(invite).data)


def _member_context(memberships: list[Membership]) -> dict[str, Any]:
    return {"last_sign_ins": last_sign_ins(user_ids=[m.user_id for m in memberships])}


class MemberListApi(generics.ListAPIView[Membership]):
    """Everyone who belongs (or belonged: `is_active` false) to this clinic."""

    access = STAFF_MANAGE
    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        return members_of(clinic=_clinic(self.request))

    @extend_schema(operation_id="staff_members_list")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        memberships = list(page if page is not None else self.get_queryset())
        serializer = MemberSerializer(memberships, many=True, context=_member_context(memberships))
        if page is None:
            return Response(serializer.data)
        return self.get_paginated_response(serializer.data)


class MemberDetailApi(APIView):
    """One member; PATCH changes the role and/or deactivates or reactivates them."""

    access = STAFF_MANAGE

    @extend_schema(operation_id="staff_members_retrieve", responses=MemberSerializer)
    def get(self, request: Request, membership_id: int) -> Response:
        membership = get_membership_for(clinic=_clinic(request), membership_id=membership_id)
        return Response(MemberSerializer(membership, context=_member_context([membership])).data)

    @extend_schema(
        operation_id="staff_members_update",
        request=MemberUpdateSerializer,
        responses=MemberSerializer,
        description=(
            "Never the clinic's last active owner, never one's own membership; only owners "
            "change owners or make someone an owner. Deactivation ends the member's sessions "
            "here at once."
        ),
    )
    def patch(self, request: Request, membership_id: int) -> Response:
        membership = get_membership_for(clinic=_clinic(request), membership_id=membership_id)
        data = MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            membership = membership_update(
                actor=_actor(request),
                membership=membership,
                role=data.validated_data.get("role"),
                is_active=data.validated_data.get("is_active"),
            )
        except StaffChangeRefused as refusal:
            _refused(refusal)
        return Response(MemberSerializer(membership, context=_member_context([membership])).data)
