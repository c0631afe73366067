"""DRF views of `/api/v1/patients/`: list and search, create, read, edit, archive, consent.

Reads need patients.view, writes patients.manage. Allergies and medical alerts are clinical
content: they are in responses only for roles with clinical.view (every role sees
`has_alerts`), and a role without it that sends them gets 403 and nothing is saved. On
PUT such a role's missing clinical fields keep their values (it cannot see them, so it
cannot mean to blank them).

Opening one record (GET /patients/<id>/) leaves a "patient.viewed" audit row; lists and
searches do not audit each row they show (the trail would drown in them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage
from django.core.paginator import Paginator as DjangoPaginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from drcrm.errors import error_body
from drcrm.rest import Pagination, field_map_error
from shared_apps.accounts.access import request_membership
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability, role_can
from tenant_apps.patients.models import Patient
from tenant_apps.patients.selectors import (
    LIST_ORDERINGS,
    consents_of,
    duplicates_of,
    get_patient_for,
    patients_filtered,
)
from tenant_apps.patients.serializers import (
    CLINICAL_FIELDS,
    ConsentCurrentSerializer,
    ConsentsSerializer,
    ConsentWriteSerializer,
    DuplicateConflictSerializer,
    PatientCreateSerializer,
    PatientSerializer,
    PatientWriteSerializer,
    current_consents,
)
from tenant_apps.patients.services import (
    INPUT_FIELDS,
    PatientInput,
    consent_record,
    patient_archive,
    patient_create,
    patient_input_check,
    patient_restore,
    patient_update,
    patient_view_record,
)

PATIENTS_VIEW = Capability.PATIENTS_VIEW.value
PATIENTS_MANAGE = Capability.PATIENTS_MANAGE.value
# Far beyond any real clinic; keeps OFFSET inside PostgreSQL's bigint for any page typed.
MAX_PAGE_NUMBER = 1_000_000
MAX_QUERY_LENGTH = 200


# --- helpers ---------------------------------------------------------------------------------


def _actor(request: Request) -> User:
    return cast(User, request.user)


def _sees_clinical(request: Request) -> bool:
    membership = request_membership(request)
    return membership is not None and role_can(membership.role, Capability.CLINICAL_VIEW)


def _out(request: Request, patient: Patient) -> dict[str, Any]:
    return dict(PatientSerializer(patient, context={"clinical": _sees_clinical(request)}).data)


def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent (bad JSON is DRF's 400 already); anything else is a 400."""
    data = request.data
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    return data


def _refuse_clinical_writes(request: Request, body: dict[str, Any]) -> None:
    sent = [name for name in CLINICAL_FIELDS if name in body]
    if sent and not _sees_clinical(request):
        raise exceptions.PermissionDenied(
            f"Your role cannot write clinical details ({', '.join(sent)}): "
            f"that needs {Capability.CLINICAL_VIEW.value}."
        )


def _input_of(validated: dict[str, Any], *, base: Patient | None = None) -> PatientInput:
    """A PatientInput from the fields sent, the rest from `base` (PATCH) or defaults."""
    values: dict[str, Any] = {}
    for name in INPUT_FIELDS:
        if name in validated:
            values[name] = validated[name]
        elif base is not None:
            values[name] = getattr(base, name)
    return PatientInput(**values)


def _bool_param(request: Request, name: str, *, choices: tuple[str, ...] = ()) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    allowed = ("true", "false", *choices)
    if value not in allowed:
        raise exceptions.ValidationError({name: [f"Use one of: {', '.join(allowed)}."]})
    return value


def _page_numbers(request: Request, paginator: Pagination) -> tuple[int, int]:
    """(page number, page size) as `drcrm.rest.Pagination` reads them."""
    page_size = paginator.get_page_size(request) or 50
    raw = request.query_params.get(paginator.page_query_param, "1")
    try:
        number = int(raw)
    except ValueError:
        raise exceptions.NotFound("Invalid page.") from None
    if not 0 < number <= MAX_PAGE_NUMBER:
        raise exceptions.NotFound("Invalid page.")
    return number, page_size


class _CountedPage:
    """One page of rows posing as the whole list, so Django's Paginator numbers the pages
    from the count the selector already made (no other query, no slicing in Python)."""

    def __init__(self, rows: list[Patient], count: int) -> None:
        self.rows = rows
        self.total = count

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: slice) -> list[Patient]:
        return self.rows  # the Paginator only ever asks for the page it was built for


# --- list and create -------------------------------------------------------------------------

PATIENT_EXAMPLE = {
    "id": 17,
    "number": "P-000017",
    "first_name": "Zoë",
    "last_name": "Núñez",
    "preferred_name": "Zo",
    "display_name": "Zoë (Zo) Núñez",
    "date_of_birth": "1987-03-14",
    "sex": "female",
    "phone": "+447911123456",
    "phone_alt": "",
    "email": "zoe@example.com",
    "address_line1": "1 High Street",
    "address_line2": "",
    "city": "London",
    "postcode": "N1 1AA",
    "country": "GB",
    "national_id": "",
    "emergency_contact_name": "Ana Núñez",
    "emergency_contact_phone": "+447911123457",
    "referral_source": "Google",
    "has_alerts": True,
    "allergies": "Penicillin",
    "medical_alerts": "",
    "front_desk_notes": "Prefers mornings.",
    "is_archived": False,
    "archived_at": None,
    "merged_into": None,
    "created_at": "2026-12-01T09:30:00Z",
    "updated_at": "2026-12-01T09:30:00Z",
}
PATIENT_NON_CLINICAL_EXAMPLE = {
    k: v for k, v in PATIENT_EXAMPLE.items() if k not in CLINICAL_FIELDS
}
CREATE_EXAMPLE = {
    "first_name": "Zoë",
    "last_name": "Núñez",
    "preferred_name": "Zo",
    "date_of_birth": "1987-03-14",
    "sex": "female",
    "phone": "07911 123456",
    "email": "zoe@example.com",
    "allergies": "Penicillin",
}
FIELD_ERROR_EXAMPLE = OpenApiExample(
    "Field errors",
    value=error_body(
        "invalid",
        "Some fields are not valid.",
        {"phone": ["This is not a valid phone number."], "last_name": ["Enter the last name."]},
    ),
    response_only=True,
    status_codes=["400"],
)
PATIENT_EXAMPLES = [
    OpenApiExample("A patient (clinical.view roles)", value=PATIENT_EXAMPLE, response_only=True),
    OpenApiExample(
        "A patient (other roles: no allergies or medical_alerts)",
        value=PATIENT_NON_CLINICAL_EXAMPLE,
        response_only=True,
    ),
]
NOT_FOUND = OpenApiResponse(
    description="No such patient here (also for junk ids and other clinics' patients).",
    examples=[
        OpenApiExample(
            "Not found",
            value=error_body("not_found", "No such patient."),
            response_only=True,
            status_codes=["404"],
        )
    ],
)
LIST_PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="Search: name fragments, phone in any format, patient number, email or "
        "date of birth; best matches first (unless `ordering` is given). Combines with "
        "the filters below.",
    ),
    OpenApiParameter(
        "archived",
        OpenApiTypes.STR,
        enum=["false", "true", "all"],
        description="false (default): active records; true: archived only; all: both.",
    ),
    OpenApiParameter("has_alerts", OpenApiTypes.BOOL),
    OpenApiParameter("date_of_birth", OpenApiTypes.DATE),
    OpenApiParameter("sex", OpenApiTypes.STR, enum=list(Patient.Sex.values)),
    OpenApiParameter(
        "ordering",
        OpenApiTypes.STR,
        enum=list(LIST_ORDERINGS),
        description="Default: last_name (or relevance with q). Anything else is a 400.",
    ),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Default 50, at most 200."),
]


class PatientListApi(APIView):
    """The clinic's patients: list, filter and search (GET); create (POST)."""

    access = PATIENTS_VIEW
    pagination_class = Pagination  # read by the schema, so the list shows as a page

    def check_permissions(self, request: Request) -> None:
        # Reading the list needs patients.view; creating a record needs patients.manage.
        self.access = PATIENTS_VIEW if request.method in SAFE_METHODS else PATIENTS_MANAGE
        super().check_permissions(request)

    @extend_schema(
        operation_id="patients_list",
        summary="List or search patients",
        description=(
            "One page of patients (`count`, `next`, `previous`, `results`). Records merged "
            "into another one never appear. Listing does not write an audit row per patient; "
            "opening one record does."
        ),
        parameters=LIST_PARAMETERS,
        responses={
            200: PatientSerializer(many=True),
            400: OpenApiResponse(
                description="An unknown ordering or a malformed filter (`fields` says which).",
                examples=[
                    OpenApiExample(
                        "Unknown ordering",
                        value=error_body(
                            "invalid",
                            "Some fields are not valid.",
                            {"ordering": ["Use one of: last_name, -last_name, ..."]},
                        ),
                        response_only=True,
                        status_codes=["400"],
                    )
                ],
            ),
        },
        examples=[
            # drf-spectacular wraps a list example in the page envelope itself.
            OpenApiExample(
                "A page of patients",
                value=PATIENT_NON_CLINICAL_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        query = params.get("q", "").strip()
        if len(query) > MAX_QUERY_LENGTH or "\x00" in query:
            raise exceptions.ValidationError(
                {"q": [f"Search with at most {MAX_QUERY_LENGTH} characters."]}
            )
        ordering = params.get("ordering", "").strip()
        if ordering and ordering not in LIST_ORDERINGS:
            raise exceptions.ValidationError(
                {"ordering": [f"Use one of: {', '.join(LIST_ORDERINGS)}."]}
            )
        archived = _bool_param(request, "archived", choices=("all",))
        has_alerts = _bool_param(request, "has_alerts")
        date_of_birth = self._date_param(request)
        sex = params.get("sex", "")
        if sex and sex not in Patient.Sex.values:
            raise exceptions.ValidationError(
                {"sex": [f"Use one of: {', '.join(Patient.Sex.values)}."]}
            )
        paginator = self.pagination_class()
        number, page_size = _page_numbers(request, paginator)
        rows, count = patients_filtered(
            query=query,
            archived={"true": True, "all": None}.get(archived or "false", False),
            has_alerts=None if has_alerts is None else has_alerts == "true",
            date_of_birth=date_of_birth,
            sex=sex,
            ordering=ordering,
            limit=page_size,
            offset=(number - 1) * page_size,
        )
        try:
            # Any: the stub's protocol wants both __getitem__ overloads; slices are all it uses.
            counted = cast(Any, _CountedPage(rows, count))
            paginator.page = DjangoPaginator(counted, page_size).page(number)
        except EmptyPage:
            raise exceptions.NotFound("Invalid page.") from None
        paginator.request = request
        context = {"clinical": _sees_clinical(request)}
        return paginator.get_paginated_response(
            PatientSerializer(rows, many=True, context=context).data
        )

    @staticmethod
    def _date_param(request: Request) -> dt.date | None:
        raw = request.query_params.get("date_of_birth", "").strip()
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise exceptions.ValidationError(
                {"date_of_birth": ["Use the format YYYY-MM-DD."]}
            ) from None

    @extend_schema(
        operation_id="patients_create",
        summary="Create a patient",
        description=(
            "Gives the record the clinic's next number (`P-000123`). If the clinic already "
            "has records with the same phone, or the same name and date of birth, answers "
            "409 with their ids and numbers; send `confirm_duplicate: true` to create it "
            "anyway. `allergies` and `medical_alerts` need clinical.view (403 otherwise)."
        ),
        request=PatientCreateSerializer,
        responses={
            201: PatientSerializer,
            400: OpenApiResponse(description="Field errors.", examples=[FIELD_ERROR_EXAMPLE]),
            403: OpenApiResponse(
                description="No patients.manage, or clinical fields sent without clinical.view."
            ),
            409: OpenApiResponse(
                response=DuplicateConflictSerializer,
                description="Likely duplicates; nothing was created.",
                examples=[
                    OpenApiExample(
                        "Likely duplicates",
                        value={
                            **error_body(
                                "possible_duplicate",
                                "This patient may already be on file. Send "
                                "confirm_duplicate: true to create the record anyway.",
                            ),
                            "duplicates": [{"id": 17, "number": "P-000017"}],
                        },
                        response_only=True,
                        status_codes=["409"],
                    )
                ],
            ),
        },
        examples=[
            OpenApiExample("New patient", value=CREATE_EXAMPLE, request_only=True),
            OpenApiExample(
                "New patient, duplicates confirmed",
                value={**CREATE_EXAMPLE, "confirm_duplicate": True},
                request_only=True,
            ),
            *PATIENT_EXAMPLES,
        ],
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        serializer = PatientCreateSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        _refuse_clinical_writes(request, body)
        data = _input_of(serializer.validated_data)
        try:
            patient_input_check(data=data)  # typing errors first, then "already on file?"
            if not serializer.validated_data["confirm_duplicate"]:
                duplicates = duplicates_of(data=data)
                if duplicates:
                    return _duplicates_response(duplicates)
            patient = patient_create(actor=_actor(request), data=data)
        except DjangoValidationError as exc:
            raise field_map_error(exc) from exc
        return Response(_out(request, patient), status=status.HTTP_201_CREATED)


def _duplicates_response(duplicates: list[Patient]) -> Response:
    body = error_body(
        "possible_duplicate",
        "This patient may already be on file. Send confirm_duplicate: true to create the "
        "record anyway.",
    )
    body["duplicates"] = [{"id": p.pk, "number": p.number} for p in duplicates]
    return Response(body, status=status.HTTP_409_CONFLICT)


# --- one patient -----------------------------------------------------------------------------


class PatientDetailApi(APIView):
    """One patient: read (audited), edit (PATCH: the fields sent; PUT: the whole record)."""

    access = PATIENTS_VIEW

    def check_permissions(self, request: Request) -> None:
        self.access = PATIENTS_VIEW if request.method in SAFE_METHODS else PATIENTS_MANAGE
        super().check_permissions(request)

    @extend_schema(
        operation_id="patients_retrieve",
        summary="Open a patient record",
        description="Leaves a `patient.viewed` audit row naming the caller.",
        responses={200: PatientSerializer, 404: NOT_FOUND},
        examples=PATIENT_EXAMPLES,
    )
    def get(self, request: Request, patient_id: int) -> Response:
        patient = get_patient_for(patient_id=patient_id)
        patient_view_record(actor=_actor(request), patient=patient)
        return Response(_out(request, patient))

    @extend_schema(
        operation_id="patients_update",
        summary="Replace a patient record",
        description=(
            "Fields left out are emptied, except `allergies` and `medical_alerts` for roles "
            "without clinical.view (they keep their values; sending them is a 403)."
        ),
        request=PatientWriteSerializer,
        responses={
            200: PatientSerializer,
            400: OpenApiResponse(description="Field errors.", examples=[FIELD_ERROR_EXAMPLE]),
            404: NOT_FOUND,
        },
        examples=[
            OpenApiExample(
                "Whole record",
                value={"first_name": "Zoë", "last_name": "Núñez", "phone": "+447911123456"},
                request_only=True,
            ),
            *PATIENT_EXAMPLES,
        ],
    )
    def put(self, request: Request, patient_id: int) -> Response:
        return self._update(request, patient_id, partial=False)

    @extend_schema(
        operation_id="patients_partial_update",
        summary="Change some fields of a patient record",
        request=PatientWriteSerializer(partial=True),
        responses={
            200: PatientSerializer,
            400: OpenApiResponse(description="Field errors.", examples=[FIELD_ERROR_EXAMPLE]),
            404: NOT_FOUND,
        },
        examples=[
            OpenApiExample("New phone", value={"phone": "07911 123456"}, request_only=True),
            *PATIENT_EXAMPLES,
        ],
    )
    def patch(self, request: Request, patient_id: int) -> Response:
        return self._update(request, patient_id, partial=True)

    def _update(self, request: Request, patient_id: int, *, partial: bool) -> Response:
        patient = get_patient_for(patient_id=patient_id)
        body = _body(request)
        serializer = PatientWriteSerializer(data=body, partial=partial)
        serializer.is_valid(raise_exception=True)
        _refuse_clinical_writes(request, body)
        validated = dict(serializer.validated_data)
        if not partial and not _sees_clinical(request):
            validated.update({name: getattr(patient, name) for name in CLINICAL_FIELDS})
        data = _input_of(validated, base=patient if partial else None)
        try:
            patient = patient_update(actor=_actor(request), patient=patient, data=data)
        except DjangoValidationError as exc:
            raise field_map_error(exc) from exc
        return Response(_out(request, patient))


class PatientArchiveApi(APIView):
    """Archive a record: it leaves the list and search (`archived=true` still finds it)."""

    access = PATIENTS_MANAGE

    @extend_schema(
        operation_id="patients_archive",
        summary="Archive a patient record",
        description="Archiving an archived record is not an error.",
        request=None,
        responses={200: PatientSerializer, 404: NOT_FOUND},
        examples=PATIENT_EXAMPLES,
    )
    def post(self, request: Request, patient_id: int) -> Response:
        patient = get_patient_for(patient_id=patient_id)
        patient = patient_archive(actor=_actor(request), patient=patient)
        return Response(_out(request, patient))


class PatientRestoreApi(APIView):
    """Bring an archived record back (not one merged into another: 400)."""

    access = PATIENTS_MANAGE

    @extend_schema(
        operation_id="patients_restore",
        summary="Restore an archived patient record",
        request=None,
        responses={
            200: PatientSerializer,
            400: OpenApiResponse(
                description="The record was merged into another one.",
                examples=[
                    OpenApiExample(
                        "Merged",
                        value=error_body(
                            "invalid",
                            "Some fields are not valid.",
                            {
                                "is_archived": [
                                    "This record was merged into another one; open that one."
                                ]
                            },
                        ),
                        response_only=True,
                        status_codes=["400"],
                    )
                ],
            ),
            404: NOT_FOUND,
        },
        examples=PATIENT_EXAMPLES,
    )
    def post(self, request: Request, patient_id: int) -> Response:
        patient = get_patient_for(patient_id=patient_id)
        try:
            patient = patient_restore(actor=_actor(request), patient=patient)
        except DjangoValidationError as exc:
            raise field_map_error(exc) from exc
        return Response(_out(request, patient))


# --- consent ---------------------------------------------------------------------------------

CONSENTS_EXAMPLE = {
    "current": [
        {
            "channel": "whatsapp",
            "opted_in": True,
            "method": "in_person",
            "recorded_at": "2026-12-01T09:31:00Z",
        },
        {"channel": "sms", "opted_in": False, "method": "", "recorded_at": None},
        {
            "channel": "email",
            "opted_in": False,
            "method": "",
            "recorded_at": "2026-12-02T10:00:00Z",
        },
    ],
    "history": [
        {
            "id": 2,
            "channel": "email",
            "opted_in": False,
            "method": "",
            "note": "Asked by phone to stop emails.",
            "recorded_at": "2026-12-02T10:00:00Z",
            "recorded_by_email": "reception@example.com",
        },
        {
            "id": 1,
            "channel": "whatsapp",
            "opted_in": True,
            "method": "in_person",
            "note": "",
            "recorded_at": "2026-12-01T09:31:00Z",
            "recorded_by_email": "reception@example.com",
        },
    ],
}


class PatientConsentsApi(APIView):
    """A patient's consent to be contacted per channel: the current answers and history."""

    access = PATIENTS_VIEW

    def check_permissions(self, request: Request) -> None:
        self.access = PATIENTS_VIEW if request.method in SAFE_METHODS else PATIENTS_MANAGE
        super().check_permissions(request)

    @extend_schema(
        operation_id="patients_consents_list",
        summary="A patient's consents",
        description="Every channel is listed; never asked counts as not opted in.",
        responses={200: ConsentsSerializer, 404: NOT_FOUND},
        examples=[OpenApiExample("Consents", value=CONSENTS_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, patient_id: int) -> Response:
        patient = get_patient_for(patient_id=patient_id)
        return Response(_consents_body(patient))

    @extend_schema(
        operation_id="patients_consents_record",
        summary="Record a patient's yes or no for one channel",
        description=(
            "Opting in needs `method` (in_person, form, message); opting out needs nothing "
            "and always wins. Every answer is kept in the history."
        ),
        request=ConsentWriteSerializer,
        responses={
            201: ConsentCurrentSerializer,
            400: OpenApiResponse(
                description="Field errors.",
                examples=[
                    OpenApiExample(
                        "Opt-in without a method",
                        value=error_body(
                            "invalid",
                            "Some fields are not valid.",
                            {
                                "method": [
                                    "Say how the patient agreed: in person, a form or a message."
                                ]
                            },
                        ),
                        response_only=True,
                        status_codes=["400"],
                    )
                ],
            ),
            404: NOT_FOUND,
        },
        examples=[
            OpenApiExample(
                "Opt in to WhatsApp",
                value={"channel": "whatsapp", "opted_in": True, "method": "in_person"},
                request_only=True,
            ),
            OpenApiExample(
                "Opt out of email",
                value={"channel": "email", "opted_in": False, "note": "Asked by phone."},
                request_only=True,
            ),
            OpenApiExample(
                "Recorded",
                value=CONSENTS_EXAMPLE["current"][0],
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request, patient_id: int) -> Response:
        patient = get_patient_for(patient_id=patient_id)
        serializer = ConsentWriteSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            consent = consent_record(
                actor=_actor(request),
                patient=patient,
                channel=data["channel"],
                opted_in=data["opted_in"],
                method=data.get("method", ""),
                note=data.get("note", ""),
            )
        except DjangoValidationError as exc:
            raise field_map_error(exc) from exc
        answer = next(
            row for row in current_consents([consent]) if row["channel"] == consent.channel
        )
        return Response(ConsentCurrentSerializer(answer).data, status=status.HTTP_201_CREATED)


def _consents_body(patient: Patient) -> dict[str, Any]:
    current, history = consents_of(patient=patient)
    return dict(ConsentsSerializer({"current": current_consents(current), "history": history}).data)
