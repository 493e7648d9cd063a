"""The demo alliance's cast: Chunxi Road business district, Chengdu (all fictional).

Four alliance members run validators, a regulator watches, and merchants with bilingual
names run points programs at posted rates of 100 or 1000 points per yuan. The tea house
applies half-way through the month and is admitted by a member vote.
"""

from __future__ import annotations

from dataclasses import dataclass

CHAIN = "chunxi-road-alliance"
DAY_MS = 86_400_000
BEIJING_MS = 8 * 3_600_000
#: 2026-10-01 00:00 Beijing time, the demo's first day (fixed so a seed fixes the chain).
START_MS = 1_790_812_800_000 - BEIJING_MS


@dataclass(frozen=True)
class MemberSpec:
    id: str
    name: str


@dataclass(frozen=True)
class MerchantSpec:
    id: str
    name: str
    description: str
    category: str
    area: str
    address: str
    contact: str
    program: str
    program_name: str
    rate: int            # points per yuan of redemption value
    expiry_days: int
    earn_percent: int    # points earned per purchase, as % of the spend's value
    transferable: bool
    accepts: tuple[str, ...]
    menu: tuple[tuple[str, int], ...]  # (item, price in yuan)
    joins_day: int = 0


#: Return windows in days (refunds void the pending points); programs not named have none.
RETURN_DAYS = {"fm": 7, "ib": 14, "ss": 3}
#: Share of purchases at those merchants that are refunded within the window, in percent.
REFUND_PERCENT = 4

MEMBERS = (
    MemberSpec("chunxi-association", "春熙路商会 Chunxi Road Merchants Association"),
    MemberSpec("jinjiang-bank", "锦江商业银行 Jinjiang Commercial Bank"),
    MemberSpec("tianfu-telecom", "天府通信 Tianfu Telecom"),
    MemberSpec("shu-payments", "蜀付支付 Shu Payments"),
)
REGULATOR = "成都市锦江区市场监督管理局 Jinjiang District Market Regulation (demo)"

_ALL = ("vk", "bp", "bc", "ss", "ib", "fm", "on", "st")
MERCHANTS = (
    MerchantSpec("village-kitchen", "乡村基 Village Kitchen", "Home-style Sichuan dishes since "
                 "1996; set lunches and family dinners.", "restaurant", "Chunxi Road",
                 "12 Chunxi Road", "028-8666-0101", "vk", "乡村基积分 Village Kitchen Points",
                 100, 90, 10, False, tuple(c for c in _ALL if c != "vk"),
                 (("mapo tofu set", 28), ("twice-cooked pork", 36), ("family dinner", 98))),
    MerchantSpec("burger-palace", "汉堡宫 Burger Palace", "Flame-grilled burgers and fries.",
                 "restaurant", "Chunxi Road", "8 Zongfu Road", "028-8666-0202", "bp",
                 "汉堡宫积分 Burger Palace Points", 1000, 60, 8, False, ("vk", "bc", "on"),
                 (("classic burger", 8), ("burger meal", 32), ("milkshake", 15))),
    MerchantSpec("bamboo-cafe", "竹林咖啡 Bamboo Café", "Single-origin Yunnan coffee and "
                 "pastries.", "café", "Taikoo Li", "3 Zhongsha Lane", "028-8666-0303", "bc",
                 "竹林咖啡豆 Bamboo Beans", 100, 180, 12, True, ("vk", "bp", "ib", "st"),
                 (("latte", 26), ("pour-over", 38), ("croissant", 18))),
    MerchantSpec("silver-screen", "银幕影城 Silver Screen Cinema", "Eight screens, IMAX and "
                 "late shows.", "cinema", "IFS", "1 Hongxing Road, 7F", "028-8666-0404", "ss",
                 "银幕星 Silver Stars", 1000, 365, 6, False, ("vk", "bp", "bc", "fm"),
                 (("ticket", 45), ("popcorn combo", 30), ("IMAX ticket", 80))),
    MerchantSpec("inkstone-books", "砚台书店 Inkstone Books", "Books, stationery and a "
                 "reading room.", "bookshop", "Taikoo Li", "21 Dacisi Road", "028-8666-0505",
                 "ib", "砚台书签 Inkstone Bookmarks", 100, 365, 5, True, ("bc", "ss"),
                 (("paperback", 39), ("notebook", 22), ("fountain pen", 120))),
    MerchantSpec("fresh-mart", "鲜果超市 Fresh Mart", "Fresh fruit and groceries, open late.",
                 "supermarket", "Chunxi Road", "66 Chunxi Road", "028-8666-0606", "fm",
                 "鲜果分 Fresh Mart Points", 1000, 14, 3, False, ("vk", "bp"),
                 (("fruit box", 25), ("grocery voucher", 50))),
    MerchantSpec("old-street-noodles", "老街面馆 Old Street Noodles", "Dan dan noodles and "
                 "wontons, hand-pulled daily.", "restaurant", "Chunxi Road", "5 Shangdong "
                 "Street", "028-8666-0707", "on", "老街面票 Noodle Tickets", 100, 30, 10, False,
                 ("vk", "bc"), (("dan dan noodles", 18), ("wonton soup", 22))),
    MerchantSpec("shufeng-teahouse", "蜀风茶馆 Shufeng Tea House", "Gaiwan tea, ear cleaning "
                 "and Sichuan opera on weekends.", "teahouse", "Kuanzhai Alley",
                 "9 Kuanzhai Alley", "028-8666-0808", "st", "蜀风茶票 Shufeng Tea Tokens", 100,
                 120, 10, True, ("vk", "bc", "ib"), (("pot of jasmine tea", 30),
                                                    ("opera evening", 88)), joins_day=15),
)
