"""category tree: published aggregates (三公经费合计, 公务用车购置及运行维护费) are categories with children

Revision ID: 0003
Revises: 0002

Real 三公 tables publish figures at every node of a tree, often without the level below:

    three_public (三公经费合计)
    ├── overseas_travel
    ├── vehicles (公务用车购置及运行维护费)
    │   ├── vehicle_purchase
    │   └── vehicle_operation
    └── reception

``category.parent_code`` holds the tree; the two aggregate nodes become categories so a published
total or subtotal is stored like any other figure (an expense entry for 决算数, a budget line for
预算数 / 调整预算数 / 执行数). They are members of no group, so sums over a group's members never
count them twice; ``ledger.store.published`` reads a node's published figure where one exists.
A budget line's ``stage`` may now also be ``execution`` (执行数).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NODES = [("three_public", "三公经费合计", "Three public expenses (total)", 5, None),
         ("vehicles", "公务用车购置及运行维护费", "Official vehicles (purchase and operation)", 15, "three_public")]
PARENTS = {"overseas_travel": "three_public", "reception": "three_public",
           "vehicle_purchase": "vehicles", "vehicle_operation": "vehicles"}


def upgrade() -> None:
    op.add_column("category", sa.Column("parent_code", sa.String(length=40), nullable=True))
    category = sa.table("category", sa.column("code"), sa.column("name_zh"), sa.column("name_en"),
                        sa.column("sort_order"), sa.column("parent_code"))
    op.bulk_insert(category, [dict(code=c, name_zh=zh, name_en=en, sort_order=o, parent_code=p)
                              for c, zh, en, o, p in NODES])
    for child, parent in PARENTS.items():
        op.execute(category.update().where(category.c.code == child).values(parent_code=parent))


def downgrade() -> None:
    category = sa.table("category", sa.column("code"))
    op.execute(category.delete().where(category.c.code.in_([c for c, *_ in NODES])))
    op.drop_column("category", "parent_code")
