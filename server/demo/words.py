"""Word lists for believable Chinese demo names and addresses (demo data only)."""

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
            "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "文博", "子涵", "浩然", "雨婷", "俊杰", "欣怡",
         "国庆", "建国", "红梅", "立新", "振宇", "思远", "佳怡", "宇航"]

BRANDS = ["华东", "鑫源", "恒通", "宏达", "瑞丰", "永盛", "金鼎", "天成", "中联", "新华",
          "东方", "盛世", "博远", "信达", "长城", "海川", "嘉禾", "万通", "德润", "安泰",
          "华信", "兴业", "汇丰", "正大", "鸿运", "凯越", "远航", "锦绣"]
INDUSTRIES = ["制冷设备", "食品", "医药", "物流", "酒店管理", "商业广场", "电子科技", "纺织", "化工", "冷链仓储",
              "精密机械", "生物科技", "数据中心", "连锁超市", "汽车零部件", "印刷包装", "实业", "置业"]
SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司", "有限责任公司"]
SPECIAL_CUSTOMERS = ["第一人民医院", "市立图书馆", "大学附属医院", "国际会展中心", "实验中学", "体育中心"]

DISTRICTS = ["经济技术开发区", "高新技术产业开发区", "工业园区", "新区", "城区", "滨江区", "东城区", "西城区", "南湖区",
             "北辰区"]
STREETS = ["人民", "解放", "建设", "中山", "长江", "黄河", "和平", "光明", "新华", "友谊", "科技", "创业", "文化",
           "胜利", "幸福", "迎宾", "工业", "发展"]
ROAD_KINDS = ["路", "大道", "街"]
SITE_NAMES = ["总部", "一号厂房", "二号厂房", "冷库", "仓储中心", "门诊楼", "主楼", "机房", "研发中心", "营业部"]

# product line -> (Chinese name, models)
PRODUCT_LINES = {
    "chiller": ("冷水机组", ["CH-200", "CH-350", "CH-500"]),
    "heat_pump": ("热泵机组", ["HP-60", "HP-120"]),
    "boiler": ("燃气锅炉", ["BL-1000", "BL-2000"]),
    "air_handler": ("组合式空调机组", ["AH-40", "AH-80"]),
    "vrf": ("多联机", ["VRF-12", "VRF-24"]),
}

# (part number stem, name, unit, unit cost, product lines it fits, serialised)
PARTS = [
    ("CMP", "压缩机", "pcs", 8600.0, ["chiller", "heat_pump"], True),
    ("EXV", "电子膨胀阀", "pcs", 950.0, ["chiller", "heat_pump", "vrf"], False),
    ("FLT", "干燥过滤器", "pcs", 120.0, ["chiller", "heat_pump", "vrf"], False),
    ("PCB", "主控板", "pcs", 2300.0, ["chiller", "heat_pump", "vrf", "air_handler", "boiler"], True),
    ("SNS", "温度传感器", "pcs", 85.0, ["chiller", "heat_pump", "vrf", "air_handler", "boiler"], False),
    ("PSW", "高压开关", "pcs", 210.0, ["chiller", "heat_pump"], False),
    ("FAN", "风机电机", "pcs", 1450.0, ["air_handler", "vrf", "heat_pump"], False),
    ("BLT", "传动皮带", "pcs", 65.0, ["air_handler"], False),
    ("AFL", "初效过滤网", "pcs", 45.0, ["air_handler"], False),
    ("BRN", "燃烧器", "pcs", 12800.0, ["boiler"], True),
    ("IGN", "点火电极", "pcs", 160.0, ["boiler"], False),
    ("GVL", "燃气阀组", "pcs", 3900.0, ["boiler"], False),
    ("PMP", "循环水泵", "pcs", 2600.0, ["boiler", "chiller"], False),
    ("RFG", "R410A 冷媒", "kg", 90.0, ["vrf", "heat_pump"], False),
    ("R13", "R134a 冷媒", "kg", 75.0, ["chiller"], False),
    ("OIL", "冷冻油", "L", 140.0, ["chiller", "heat_pump", "vrf"], False),
    ("CTR", "交流接触器", "pcs", 260.0, ["chiller", "heat_pump", "air_handler", "boiler", "vrf"], False),
    ("INV", "变频模块", "pcs", 3100.0, ["vrf", "heat_pump"], True),
    ("DSP", "线控器", "pcs", 380.0, ["vrf"], False),
    ("GSK", "密封垫片组", "set", 55.0, ["chiller", "boiler"], False),
]

# Ticket summaries per category (and complaint class).
SUMMARIES = {
    "repair": ["机组不制冷，出水温度偏高", "压缩机频繁启停", "高压报警停机", "锅炉点火失败", "风机异响",
               "通讯故障，线控器显示E4", "漏水，冷凝器附近有积水", "低压报警"],
    "installation": ["新购机组安装调试", "多联机室内机加装", "锅炉房改造后设备安装"],
    "maintenance": ["季度例行保养", "换季检修", "冷媒检漏与补充", "过滤网清洗更换"],
    ("complaint", "quality"): ["维修后一周内同一故障复发", "新机组运行噪音超标"],
    ("complaint", "non_quality"): ["技术人员迟到且未提前通知", "服务人员态度不佳"],
    ("complaint", "other"): ["发票信息有误", "回访电话过于频繁"],
}

# Survey comments (《顾客满意度调查表》's free text), the tour's pre-contact symptoms, incidents.
SURVEY_COMMENTS = ["技术员很专业，讲解清楚。", "响应及时，感谢。", "希望保养前能提前一天电话确认。", "", "",
                   "整体满意。", "培训时间有点短，操作人员还不太熟练。"]
SURVEY_BAD_COMMENT = "压缩机故障报修后备件等了一个多星期才到，期间冷库只能停用，损失不小。"
TOUR_SYMPTOMS = ["夏季负荷大时出水温度偏高", "运行噪音比去年明显增大", "偶尔报高压，重启后恢复", "冷凝器结垢，需清洗",
                 "无明显故障，希望做一次全面检查"]
TOUR_DECLINED = "近期停产检修，下次巡回再约。"
