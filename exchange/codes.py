"""Result codes: ``ok`` or the name of the business rule a record broke.

This list is the API's error-code contract. A record is judged by an ordered list of early
returns: every record type checks the subset of these codes that applies to it, in the order
listed here, and returns the first one that fails. A rejected record changes nothing.
"""

from __future__ import annotations

OK = "ok"

# (code, meaning), in check order.
REJECTIONS: tuple[tuple[str, str], ...] = (
    ("type_unknown", "the record type is not one of the exchange's record types"),
    ("key_retired", "a signer's key was rotated out; records it signs are refused from then on"),
    ("payload_malformed", "a payload field is missing, extra, of the wrong type or over a limit"),
    ("amount_invalid", "an amount is not a whole number of points (or fen) within the limits"),
    ("member_unknown", "no member has the id the payload names"),
    ("merchant_unknown", "no merchant has the id the payload names"),
    ("program_unknown", "no program has the code the payload names"),
    ("issue_not_pending", "no pending points have this issue id (unknown, not an issue or vested)"),
    ("void_not_own", "a void is not signed by the current key of the points' issuer alone"),
    ("issue_already_voided", "the pending points of this issue were voided already"),
    ("same_account", "a transfer names its own holder as the recipient"),
    ("same_program", "a swap or promotion names one program on both sides"),
    ("same_merchant", "a settlement names one merchant as payer and payee"),
    ("not_authorized", "the signers are not the current key(s) of the party the record acts for"),
    ("signers_not_members", "a governance record is signed by a key of no active member"),
    ("threshold_not_met", "fewer active members signed than the alliance's threshold"),
    ("member_exists", "a member with this id already exists"),
    ("merchant_exists", "a merchant with this id already exists"),
    ("program_exists", "a program with this code already exists"),
    ("key_in_use", "the new key is bound to a party, was retired, or holds points"),
    ("status_invalid", "the member or merchant is not in a status this action applies to"),
    ("issuer_suspended", "the issuer is suspended: no new issuing, inbound swaps or rates"),
    ("recipient_not_customer", "points may only go to customer keys, not to a party's key"),
    ("not_transferable", "the program does not allow holders to give points to each other"),
    ("too_many_members", "the alliance already has the most members a vote can carry"),
    ("too_many_merchants", "the alliance already has the most admitted merchants allowed"),
    ("too_many_applications", "the most merchant applications allowed are waiting for a vote"),
    ("too_many_programs", "the merchant or the alliance already runs the most programs allowed"),
    ("alliance_too_small", "the suspension would leave no active member or no validator"),
    ("rate_not_divisor", "a posted rate must be 1..1,000,000 and divide 1,000,000"),
    ("cap_too_large", "the issuance cap is worth more than the per-program ceiling at this rate"),
    ("rate_change_pending", "a posted rate is still in its notice period"),
    ("rate_unchanged", "the posted rate equals the rate in effect"),
    ("promotion_invalid", "the bonus or the time window of a promotion is out of bounds"),
    ("promotion_overlaps", "another promotion for this pair of programs overlaps the window"),
    ("too_many_promotions", "the pair of programs already has the most live promotions"),
    ("offer_exists", "the program already has an offer with this id (ids are never reused)"),
    ("offer_unknown", "the program has no offer with this id that is still open to withdraw"),
    ("offer_invalid", "the validity window of an offer is out of bounds or already over"),
    ("too_many_offers", "the program already has the most live and upcoming offers"),
    ("program_not_accepted", "the receiving program does not accept swaps from this program"),
    ("rate_version_stale", "a quoted rate version was replaced by a newer one now in effect"),
    ("rate_version_not_in_effect", "a quoted rate version does not exist or is not yet in effect"),
    ("insufficient_balance", "the holder has fewer points than the record spends"),
    ("below_minimum", "the swap yields less than the receiving program's minimum"),
    ("min_out_not_met", "the swap yields less than the holder's stated minimum"),
    ("daily_cap_exceeded", "the swap would pass the receiving program's daily inbound cap"),
    ("cap_exceeded", "the points would pass the program's issuance cap"),
    ("settle_exceeds_position", "the payment is more than the payer owes or the payee is owed"),
    ("counter_limit_reached", "a lifetime counter would pass 2**53-1, the largest hashable number"),
)

CODES: tuple[str, ...] = tuple(code for code, _ in REJECTIONS)
MEANING: dict[str, str] = dict(REJECTIONS)
ORDER: dict[str, int] = {code: n for n, code in enumerate(CODES)}

TYPE_UNKNOWN = "type_unknown"
KEY_RETIRED = "key_retired"
PAYLOAD_MALFORMED = "payload_malformed"
AMOUNT_INVALID = "amount_invalid"
MEMBER_UNKNOWN = "member_unknown"
MERCHANT_UNKNOWN = "merchant_unknown"
PROGRAM_UNKNOWN = "program_unknown"
ISSUE_NOT_PENDING = "issue_not_pending"
VOID_NOT_OWN = "void_not_own"
ISSUE_ALREADY_VOIDED = "issue_already_voided"
SAME_ACCOUNT = "same_account"
SAME_PROGRAM = "same_program"
SAME_MERCHANT = "same_merchant"
NOT_AUTHORIZED = "not_authorized"
SIGNERS_NOT_MEMBERS = "signers_not_members"
THRESHOLD_NOT_MET = "threshold_not_met"
MEMBER_EXISTS = "member_exists"
MERCHANT_EXISTS = "merchant_exists"
PROGRAM_EXISTS = "program_exists"
KEY_IN_USE = "key_in_use"
STATUS_INVALID = "status_invalid"
ISSUER_SUSPENDED = "issuer_suspended"
RECIPIENT_NOT_CUSTOMER = "recipient_not_customer"
NOT_TRANSFERABLE = "not_transferable"
TOO_MANY_MEMBERS = "too_many_members"
TOO_MANY_MERCHANTS = "too_many_merchants"
TOO_MANY_APPLICATIONS = "too_many_applications"
TOO_MANY_PROGRAMS = "too_many_programs"
ALLIANCE_TOO_SMALL = "alliance_too_small"
RATE_NOT_DIVISOR = "rate_not_divisor"
CAP_TOO_LARGE = "cap_too_large"
RATE_CHANGE_PENDING = "rate_change_pending"
RATE_UNCHANGED = "rate_unchanged"
PROMOTION_INVALID = "promotion_invalid"
PROMOTION_OVERLAPS = "promotion_overlaps"
TOO_MANY_PROMOTIONS = "too_many_promotions"
OFFER_EXISTS = "offer_exists"
OFFER_UNKNOWN = "offer_unknown"
OFFER_INVALID = "offer_invalid"
TOO_MANY_OFFERS = "too_many_offers"
PROGRAM_NOT_ACCEPTED = "program_not_accepted"
RATE_VERSION_STALE = "rate_version_stale"
RATE_VERSION_NOT_IN_EFFECT = "rate_version_not_in_effect"
INSUFFICIENT_BALANCE = "insufficient_balance"
BELOW_MINIMUM = "below_minimum"
MIN_OUT_NOT_MET = "min_out_not_met"
DAILY_CAP_EXCEEDED = "daily_cap_exceeded"
CAP_EXCEEDED = "cap_exceeded"
SETTLE_EXCEEDS_POSITION = "settle_exceeds_position"
COUNTER_LIMIT_REACHED = "counter_limit_reached"
