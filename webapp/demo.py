"""The first users of a fresh install: demo users, one or two per department plus a process owner, an
auditor and an admin, so it can be tried at once; or, in production, only the administrator `admin`
with the password given in AFTERSALES_ADMIN_PASSWORD. Created only on an empty user table."""
from __future__ import annotations

from dataclasses import dataclass

from engine.accounts.directory import Directory
from handlers.dispatching import seed_demo_engineers
from webapp.auth import hash_password

DEMO_PASSWORD = "demo-2026"
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    departments: dict[str, str]
    roles: tuple[str, ...] = ()


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("sales.li", "李娜", {"sales": "member"}),
    DemoUser("sales.zhao", "赵刚", {"sales": "head"}),
    DemoUser("qa.wang", "王强", {"quality": "member"}),
    DemoUser("qa.chen", "陈静", {"quality": "head"}),
    DemoUser("dev.liu", "刘洋", {"development": "member"}),
    DemoUser("dev.sun", "孙伟", {"development": "head"}),
    DemoUser("prod.zhou", "周敏", {"production": "member"}),
    DemoUser("prod.wu", "吴磊", {"production": "head"}),
    DemoUser("ws.zheng", "郑军", {"workshops": "member"}),
    DemoUser("ws.he", "何平", {"workshops": "head"}),
    DemoUser("svc.huang", "黄丽", {"after_sales": "member"}),
    DemoUser("svc.lin", "林峰", {"after_sales": "head"}),
    DemoUser("ts.qian", "钱毅", {"tech_support": "member"}),
    DemoUser("ts.dong", "董洁", {"tech_support": "head"}),
    DemoUser("sup.luo", "罗斌", {"service_supervisors": "head"}),
    DemoUser("sup.song", "宋佳", {"service_supervisors": "member"}),
    DemoUser("fe.zhu", "朱磊", {"tech_support": "member"}),
    DemoUser("fe.yang", "杨帆", {"tech_support": "member"}),
    DemoUser("fe.ye", "叶青", {"tech_support": "member"}),
    DemoUser("biz.tang", "唐雪", {"business_office": "member"}),
    DemoUser("biz.pan", "潘越", {"business_office": "head"}),
    DemoUser("log.feng", "冯超", {"logistics": "member"}),
    DemoUser("log.jiang", "蒋涛", {"logistics": "head"}),
    DemoUser("order.xie", "谢婷", {"order_management": "member"}),
    DemoUser("order.fu", "付蓉", {"order_management": "head"}),
    DemoUser("pm.han", "韩冰", {"product_management": "member"}),
    DemoUser("pm.deng", "邓凯", {"product_management": "head"}),
    DemoUser("pe.cao", "曹斌", {"process_engineering": "head"}),
    DemoUser("tc.peng", "彭亮", {"test_center": "head"}),
    DemoUser("eng.lu", "陆明", {"engineering": "member"}),
    DemoUser("eng.shi", "石磊", {"engineering": "head"}),
    DemoUser("sample.gao", "高洁", {"sample_room": "member"}),
    DemoUser("owner.xu", "徐涛", {}, ("process_owner",)),
    DemoUser("audit.ma", "马兰", {}, ("auditor",)),
    DemoUser(ADMIN_USERNAME, "系统管理员", {}, ("admin",)),
)


def seed_demo_users(directory: Directory, admin_password: str | None = None) -> list[DemoUser]:
    """Create the demo users when nobody exists yet; returns those created (none on later starts).
    With `admin_password` the administrator gets that password instead of the demo one."""
    if directory.users():
        return []
    password_hash = hash_password(DEMO_PASSWORD)
    admin_hash = hash_password(admin_password) if admin_password else password_hash
    for user in DEMO_USERS:
        directory.add_user(user.username, user.display_name,
                           admin_hash if user.username == ADMIN_USERNAME else password_hash,
                           user.departments, user.roles, email=f"{user.username}@example.com")
    with directory.db.writing() as session:
        seed_demo_engineers(session)  # the field engineers' certificates, skills and regions
    return list(DEMO_USERS)


def seed_admin(directory: Directory, password: str) -> bool:
    """Create the administrator `admin` with `password` when nobody exists yet, so a production install
    (no demo users) has someone to sign in and add the others; False when users already exist."""
    if directory.users():
        return False
    directory.add_user(ADMIN_USERNAME, "系统管理员", hash_password(password), {}, ("admin",), actor="init")
    return True
