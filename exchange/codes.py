"""Result codes: ``ok`` or the name of the business rule a record broke.

This list is the API's error-code contract. A record is judged by an ordered list of early
returns: every record type checks the subset of these codes that applies to it, in the order
listed here (:class:`Code`), and returns the first one that fails. A rejected record
changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

OK = "ok"


class Code(StrEnum):
    """A rejection code, in check order; ``meaning`` says which rule the record broke.

    The string is the code on the wire (``Code.TYPE_UNKNOWN == "type_unknown"``); the
    module's constants below are the plain strings, so results stay ``str`` everywhere.
    """

    _value_: str
    meaning: str

    def __new__(cls, code: str, meaning: str) -> Code:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    TYPE_UNKNOWN = "type_unknown", "the record type is not one of the exchange's record types"
    KEY_RETIRED = ("key_retired",
                   "a signer's key was rotated out; records it signs are refused from then on")
    PAYLOAD_MALFORMED = ("payload_malformed",
                         "a payload field is missing, extra, of the wrong type or over a limit")
    AMOUNT_INVALID = ("amount_invalid",
                      "an amount is not a whole number of points (or fen) within the limits")
    MEMBER_UNKNOWN = "member_unknown", "no member has the id the payload names"
    MERCHANT_UNKNOWN = "merchant_unknown", "no merchant has the id the payload names"
    PROGRAM_UNKNOWN = "program_unknown", "no program has the code the payload names"
    ISSUE_NOT_PENDING = ("issue_not_pending",
                         "no pending points have this issue id (unknown, not an issue or vested)")
    VOID_NOT_OWN = ("void_not_own",
                    "a void is not signed by the current key of the points' issuer alone")
    ISSUE_ALREADY_VOIDED = ("issue_already_voided",
                            "the pending points of this issue were voided already")
    SAME_ACCOUNT = "same_account", "a transfer names its own holder as the recipient"
    SAME_PROGRAM = "same_program", "a swap or promotion names one program on both sides"
    SAME_MERCHANT = "same_merchant", "a settlement names one merchant as payer and payee"
    NOT_AUTHORIZED = ("not_authorized",
                      "the signers are not the current key(s) of the party the record acts for")
    SIGNERS_NOT_MEMBERS = ("signers_not_members",
                           "a governance record is signed by a key of no active member")
    THRESHOLD_NOT_MET = ("threshold_not_met",
                         "fewer active members signed than the alliance's threshold")
    MEMBER_EXISTS = "member_exists", "a member with this id already exists"
    MERCHANT_EXISTS = "merchant_exists", "a merchant with this id already exists"
    PROGRAM_EXISTS = "program_exists", "a program with this code already exists"
    KEY_IN_USE = "key_in_use", "the new key is bound to a party, was retired, or holds points"
    STATUS_INVALID = ("status_invalid",
                      "the member or merchant is not in a status this action applies to")
    ISSUER_SUSPENDED = ("issuer_suspended",
                        "the issuer is suspended: no new issuing, inbound swaps or rates")
    RECIPIENT_NOT_CUSTOMER = ("recipient_not_customer",
                              "points may only go to customer keys, not to a party's key")
    NOT_TRANSFERABLE = ("not_transferable",
                        "the program does not allow holders to give points to each other")
    TOO_MANY_MEMBERS = ("too_many_members",
                        "the alliance already has the most members a vote can carry")
    TOO_MANY_MERCHANTS = ("too_many_merchants",
                          "the alliance already has the most admitted merchants allowed")
    TOO_MANY_APPLICATIONS = ("too_many_applications",
                             "the most merchant applications allowed are waiting for a vote")
    TOO_MANY_PROGRAMS = ("too_many_programs",
                         "the merchant or the alliance already runs the most programs allowed")
    ALLIANCE_TOO_SMALL = ("alliance_too_small",
                          "the suspension would leave no active member or no validator")
    RATE_NOT_DIVISOR = "rate_not_divisor", "a posted rate must be 1..1,000,000 and divide 1,000,000"
    CAP_TOO_LARGE = ("cap_too_large",
                     "the issuance cap is worth more than the per-program ceiling at this rate")
    RATE_CHANGE_PENDING = "rate_change_pending", "a posted rate is still in its notice period"
    RATE_UNCHANGED = "rate_unchanged", "the posted rate equals the rate in effect"
    PROMOTION_INVALID = ("promotion_invalid",
                         "the bonus or the time window of a promotion is out of bounds")
    PROMOTION_OVERLAPS = ("promotion_overlaps",
                          "another promotion for this pair of programs overlaps the window")
    TOO_MANY_PROMOTIONS = ("too_many_promotions",
                           "the pair of programs already has the most live promotions")
    OFFER_EXISTS = ("offer_exists",
                    "the program already has an offer with this id (ids are never reused)")
    OFFER_UNKNOWN = ("offer_unknown",
                     "the program has no offer with this id that is still open to withdraw")
    OFFER_INVALID = ("offer_invalid",
                     "the validity window of an offer is out of bounds or already over")
    TOO_MANY_OFFERS = "too_many_offers", "the program already has the most live and upcoming offers"
    PROGRAM_NOT_ACCEPTED = ("program_not_accepted",
                            "the receiving program does not accept swaps from this program")
    RATE_VERSION_STALE = ("rate_version_stale",
                          "a quoted rate version was replaced by a newer one now in effect")
    RATE_VERSION_NOT_IN_EFFECT = ("rate_version_not_in_effect",
                                  "a quoted rate version does not exist or is not yet in effect")
    INSUFFICIENT_BALANCE = ("insufficient_balance",
                            "the holder has fewer points than the record spends")
    BELOW_MINIMUM = "below_minimum", "the swap yields less than the receiving program's minimum"
    MIN_OUT_NOT_MET = "min_out_not_met", "the swap yields less than the holder's stated minimum"
    DAILY_CAP_EXCEEDED = ("daily_cap_exceeded",
                          "the swap would pass the receiving program's daily inbound cap")
    CAP_EXCEEDED = "cap_exceeded", "the points would pass the program's issuance cap"
    SETTLE_EXCEEDS_POSITION = ("settle_exceeds_position",
                               "the payment is more than the payer owes or the payee is owed")
    COUNTER_LIMIT_REACHED = ("counter_limit_reached",
                             "a lifetime counter would pass 2**53-1, the largest hashable number")


# (code, meaning), in check order.
REJECTIONS: tuple[tuple[str, str], ...] = tuple((code.value, code.meaning) for code in Code)

CODES: tuple[str, ...] = tuple(code for code, _ in REJECTIONS)
MEANING: dict[str, str] = dict(REJECTIONS)
ORDER: dict[str, int] = {code: n for n, code in enumerate(CODES)}

TYPE_UNKNOWN = Code.TYPE_UNKNOWN.value
KEY_RETIRED = Code.KEY_RETIRED.value
PAYLOAD_MALFORMED = Code.PAYLOAD_MALFORMED.value
AMOUNT_INVALID = Code.AMOUNT_INVALID.value
MEMBER_UNKNOWN = Code.MEMBER_UNKNOWN.value
MERCHANT_UNKNOWN = Code.MERCHANT_UNKNOWN.value
PROGRAM_UNKNOWN = Code.PROGRAM_UNKNOWN.value
ISSUE_NOT_PENDING = Code.ISSUE_NOT_PENDING.value
VOID_NOT_OWN = Code.VOID_NOT_OWN.value
ISSUE_ALREADY_VOIDED = Code.ISSUE_ALREADY_VOIDED.value
SAME_ACCOUNT = Code.SAME_ACCOUNT.value
SAME_PROGRAM = Code.SAME_PROGRAM.value
SAME_MERCHANT = Code.SAME_MERCHANT.value
NOT_AUTHORIZED = Code.NOT_AUTHORIZED.value
SIGNERS_NOT_MEMBERS = Code.SIGNERS_NOT_MEMBERS.value
THRESHOLD_NOT_MET = Code.THRESHOLD_NOT_MET.value
MEMBER_EXISTS = Code.MEMBER_EXISTS.value
MERCHANT_EXISTS = Code.MERCHANT_EXISTS.value
PROGRAM_EXISTS = Code.PROGRAM_EXISTS.value
KEY_IN_USE = Code.KEY_IN_USE.value
STATUS_INVALID = Code.STATUS_INVALID.value
ISSUER_SUSPENDED = Code.ISSUER_SUSPENDED.value
RECIPIENT_NOT_CUSTOMER = Code.RECIPIENT_NOT_CUSTOMER.value
NOT_TRANSFERABLE = Code.NOT_TRANSFERABLE.value
TOO_MANY_MEMBERS = Code.TOO_MANY_MEMBERS.value
TOO_MANY_MERCHANTS = Code.TOO_MANY_MERCHANTS.value
TOO_MANY_APPLICATIONS = Code.TOO_MANY_APPLICATIONS.value
TOO_MANY_PROGRAMS = Code.TOO_MANY_PROGRAMS.value
ALLIANCE_TOO_SMALL = Code.ALLIANCE_TOO_SMALL.value
RATE_NOT_DIVISOR = Code.RATE_NOT_DIVISOR.value
CAP_TOO_LARGE = Code.CAP_TOO_LARGE.value
RATE_CHANGE_PENDING = Code.RATE_CHANGE_PENDING.value
RATE_UNCHANGED = Code.RATE_UNCHANGED.value
PROMOTION_INVALID = Code.PROMOTION_INVALID.value
PROMOTION_OVERLAPS = Code.PROMOTION_OVERLAPS.value
TOO_MANY_PROMOTIONS = Code.TOO_MANY_PROMOTIONS.value
OFFER_EXISTS = Code.OFFER_EXISTS.value
OFFER_UNKNOWN = Code.OFFER_UNKNOWN.value
OFFER_INVALID = Code.OFFER_INVALID.value
TOO_MANY_OFFERS = Code.TOO_MANY_OFFERS.value
PROGRAM_NOT_ACCEPTED = Code.PROGRAM_NOT_ACCEPTED.value
RATE_VERSION_STALE = Code.RATE_VERSION_STALE.value
RATE_VERSION_NOT_IN_EFFECT = Code.RATE_VERSION_NOT_IN_EFFECT.value
INSUFFICIENT_BALANCE = Code.INSUFFICIENT_BALANCE.value
BELOW_MINIMUM = Code.BELOW_MINIMUM.value
MIN_OUT_NOT_MET = Code.MIN_OUT_NOT_MET.value
DAILY_CAP_EXCEEDED = Code.DAILY_CAP_EXCEEDED.value
CAP_EXCEEDED = Code.CAP_EXCEEDED.value
SETTLE_EXCEEDS_POSITION = Code.SETTLE_EXCEEDS_POSITION.value
COUNTER_LIMIT_REACHED = Code.COUNTER_LIMIT_REACHED.value
