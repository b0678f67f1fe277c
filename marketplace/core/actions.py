"""The names of audited actions: one vocabulary that every stage writes and any can query.

Values are the strings stored in `audit_log.action`; a new action is added
here, under its stage, never written as a free string.
"""
from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # accounts
    ADMIN_CREATED = "admin.created"
    API_TOKEN_ISSUED = "api_token.issued"
    API_TOKEN_REVOKED = "api_token.revoked"
    FIRM_REGISTERED = "firm.registered"
    MEMBER_INVITED = "member.invited"
    MEMBER_INVITATION_REVOKED = "member.invitation_revoked"
    MEMBER_JOINED = "member.joined"
    MEMBER_REMOVED = "member.removed"
    MEMBER_UPDATED = "member.updated"
    TECHNICIAN_REGISTERED = "technician.registered"
    TECHNICIAN_PROFILE_UPDATED = "technician.profile_updated"
    TECHNICIAN_SKILLS_UPDATED = "technician.skills_updated"
    TECHNICIAN_STATUS_CHANGED = "technician.status_changed"
    USER_PASSWORD_CHANGED = "user.password_changed"
    DEMO_SEEDED = "demo.seeded"
    # verify
    CREDENTIAL_SUBMITTED = "credential.submitted"
    CREDENTIAL_RESUBMITTED = "credential.resubmitted"
    CREDENTIAL_APPROVED = "credential.approved"
    CREDENTIAL_REJECTED = "credential.rejected"
    CREDENTIAL_NEEDS_INFO = "credential.needs_info"
    CREDENTIAL_TYPE_CREATED = "credential_type.created"
    CREDENTIAL_TYPE_UPDATED = "credential_type.updated"
    REQUIREMENT_SET_SAVED = "requirement_set.saved"
    REQUIREMENT_SET_DELETED = "requirement_set.deleted"
    FIRM_VERIFICATION_SUBMITTED = "firm.verification_submitted"
    FIRM_VERIFIED = "firm.verified"
    VERIFY_SWEEP = "verify.sweep"
    # find
    ASSIGNMENT_CREATED = "assignment.created"
    ASSIGNMENT_UPDATED = "assignment.updated"
    ASSIGNMENT_PUBLISHED = "assignment.published"
    ASSIGNMENT_RESCHEDULED = "assignment.rescheduled"
    ATTACHMENT_ADDED = "attachment.added"
    ATTACHMENT_DELETED = "attachment.deleted"
    TEMPLATE_CREATED = "template.created"
    TEMPLATE_UPDATED = "template.updated"
    TEMPLATE_DELETED = "template.deleted"
    POOL_MEMBER_ADDED = "pool.member_added"
    POOL_MEMBER_LEFT = "pool.member_left"
    # engage
    ASSIGNMENT_ROUTED = "assignment.routed"
    ASSIGNMENT_OPENED_TO_MARKETPLACE = "assignment.opened_to_marketplace"
    ASSIGNMENT_ACCEPTED = "assignment.accepted"
    ASSIGNMENT_CHOSEN = "assignment.chosen"
    ASSIGNMENT_CANCELLED = "assignment.cancelled"
    ASSIGNMENT_BACKFILLED = "assignment.backfilled"
    ASSIGNMENT_OFFBOARDED = "assignment.offboarded"
    OFFER_APPLIED = "offer.applied"
    OFFER_DECLINED = "offer.declined"
    OFFER_COUNTERED = "offer.countered"
    COUNTEROFFER_ACCEPTED = "counteroffer.accepted"
    COUNTEROFFER_REJECTED = "counteroffer.rejected"
