"""The workspace pages' words, Chinese and English (the public pages' own are in ``api.page_text``)."""

from __future__ import annotations

_PAIRS: dict[str, tuple[str, str]] = {
    "site": ("阳光账本 工作台", "Sunshine Ledger workspace"),
    "switch": ("English", "中文"),
    "login": ("登录", "Sign in"), "logout": ("退出登录", "Sign out"),
    "username": ("用户名", "Username"), "password": ("密码", "Password"),
    "login_failed": ("用户名或密码不正确，或账户已停用或暂时锁定（连续输错 5 次锁定 15 分钟）。",
                     "Wrong username or password, or the account is disabled or locked for a while "
                     "(5 failures in a row lock it for 15 minutes)."),
    "signed_in_as": ("当前账户", "Signed in as"),
    "role_finance": ("财政局", "Finance bureau"), "role_discipline": ("纪委监委", "Discipline commission"),
    "role_admin": ("管理员", "Administrator"),
    "finance": ("数据导入", "Imports"), "review": ("核查", "Reviews"), "admin": ("账户管理", "Accounts"),
    "public_site": ("公开网站", "Public site"),
    "forbidden": ("此账户无权使用该页面。", "This account may not use this page."),
    "csrf": ("表单已过期或不是从本站提交的，请刷新页面后重试。",
             "The form expired or was not sent from this site; reload the page and try again."),
    # finance
    "upload": ("上传文件", "Upload a file"), "kind": ("数据类型", "Kind of data"), "file": ("文件", "File"),
    "supersedes": ("更正批次（可选）", "Corrects batch (optional)"), "none": ("无（新数据）", "None (new data)"),
    "amount_unit": ("金额单位（文件未注明时）", "Amount unit (when the file does not say)"),
    "as_in_file": ("按文件", "As the file says"),
    "check": ("检查（不写入）", "Check (writes nothing)"),
    "dry_run": ("检查结果", "Check result"), "confirm": ("确认导入", "Confirm the import"),
    "fix_and_retry": ("请修改文件中标出的单元格后重新上传；本次没有写入任何数据。",
                      "Fix the highlighted cells and upload the file again; nothing was written."),
    "ready": ("检查通过，可以导入。导入是整体的：全部写入或全部不写入。",
              "The check passed. The import is all-or-nothing: every row is written or none."),
    "row": ("行", "Row"), "column": ("列", "Column"), "value": ("值", "Value"), "problem": ("问题", "Problem"),
    "sheet": ("工作表", "Sheet"), "severity": ("级别", "Severity"),
    "errors": ("错误", "Errors"), "warnings": ("警告", "Warnings"), "rows_read": ("读取行数", "Rows read"),
    "all_problems": ("问题清单", "Every problem"),
    "rows_shown": ("显示前 {n} 行及所有有问题的行", "The first {n} rows and every row with a problem"),
    "loaded": ("已导入为批次 {id}（{rows} 行）。", "Loaded as batch {id} ({rows} rows)."),
    "unchanged": ("此文件已导入过（批次 {id}），未重复写入。", "This file was loaded before (batch {id}); nothing new was written."),
    "refused": ("导入被拒绝。", "The import was refused."),
    "stage_gone": ("待确认的文件已失效，请重新上传。", "The file waiting for confirmation is gone; upload it again."),
    "timeline": ("批次时间线", "Batch timeline"), "batch": ("批次", "Batch"),
    "superseded_by": ("已被批次 {id} 更正", "Superseded by batch {id}"), "corrects": ("更正批次 {id}", "Corrects batch {id}"),
    "superseded": ("已被更正", "superseded"), "published": ("已发布", "published"),
    "correct_this": ("上传更正", "Upload a correction"), "by": ("提交人", "By"), "rows": ("行数", "Rows"),
    "no_batches": ("还没有导入任何批次。", "No batch has been loaded yet."),
    # review
    "queue": ("待核查风险标记", "Flags to review"), "state": ("状态", "State"), "rule": ("规则", "Rule"),
    "unit": ("单位", "Unit"), "year": ("年度", "Year"), "all": ("全部", "All"), "filter": ("筛选", "Filter"),
    "open_case": ("打开案卷", "Open the case file"), "no_flags": ("没有符合条件的风险标记。", "No flag matches."),
    "case_file": ("案卷", "Case file"), "figures": ("涉及数字", "The figures"),
    "threshold": ("规则与阈值", "Rule and threshold"), "policy": ("依据", "Policy"),
    "sources": ("来源批次与数据行", "Source batches and rows"), "history": ("核查记录", "Review history"),
    "change_state": ("变更状态", "Change the state"), "to_state": ("新状态", "New state"), "note": ("意见", "Note"),
    "visibility": ("意见的性质", "This note is"), "vis_public": ("可公开（发布结论时公开）", "for publication (released with the finding)"),
    "vis_internal": ("内部（永不公开）", "internal (never published)"), "save": ("保存", "Save"),
    "preview": ("公开预览：发布后公众将看到", "Preview: what the public will see once published"),
    "publish": ("发布结论", "Publish the finding"), "published_note": ("已公开", "published"),
    "internal": ("内部", "internal"), "restricted": ("未公开", "not yet published"),
    "nothing_public": ("尚无可公开的意见。", "No note is for publication yet."),
    "print": ("打印案卷", "Print the case file"), "reviewer": ("核查人", "Reviewer"), "when": ("时间", "When"),
    "no_moves": ("此标记已办结，不能再变更状态。", "This flag is closed; its state cannot change."),
    "importer_warning": ("提示：导入该数据的人（{who}）不能核查或发布此标记。",
                         "Note: whoever imported this data ({who}) may not review or publish this flag."),
    "message": ("说明", "Message"), "yuan": ("元", "yuan"),
    "assignee": ("承办人", "Assigned to"), "nobody": ("未分配", "Nobody"), "assign": ("分配", "Assign"),
    "mine": ("分配给我的", "Assigned to me"),
    "previous_years": ("历年数字（本单位、本类别）", "Year by year (this unit and category)"),
    "actual": ("决算数", "Actual"), "budget_original": ("年初预算", "Original budget"),
    "budget_adjusted": ("调整预算", "Adjusted budget"),
    # admin
    "accounts": ("账户", "Accounts"), "create_account": ("新建账户", "Create an account"),
    "display_name": ("姓名", "Name"), "role": ("角色", "Role"), "create": ("创建", "Create"),
    "disable": ("停用", "Disable"), "disabled": ("已停用", "disabled"), "active": ("在用", "active"),
    "created": ("创建时间", "Created"),
    "audit": ("最近的操作记录（审计日志）", "Latest entries of the audit log"), "action": ("操作", "Action"),
    "object": ("对象", "Object"), "account_created": ("账户 {name} 已创建。", "Account {name} created."),
    "account_disabled": ("账户 {name} 已停用。", "Account {name} disabled."),
}


# The keys of a flag's figures and thresholds (``ledger.rules.flag_rules*``) as a reviewer reads them.
FIGURES: dict[str, tuple[str, str]] = {
    "actual_fen": ("决算数", "Actual"), "budget_fen": ("预算数", "Budget"), "budget_stage": ("预算阶段", "Budget stage"),
    "excess_fen": ("超出金额", "Excess"), "excess_pct": ("超出比例（%）", "Excess (%)"),
    "contract_fen": ("合同金额", "Contract"), "amount_fen": ("金额", "Amount"), "persons": ("人次", "Persons"),
    "per_person_fen": ("人均", "Per person"), "share_pct": ("占比（%）", "Share (%)"),
    "min_excess_pct": ("最低超出比例（%）", "Minimum excess (%)"), "min_excess_yuan": ("最低超出金额（元）", "Minimum excess (yuan)"),
    "tolerance_pct": ("容差（%）", "Tolerance (%)"), "max_award_yuan": ("单一来源上限（元）", "Single-source cap (yuan)"),
    "max_share_pct": ("单一来源占比上限（%）", "Single-source share cap (%)"),
    "min_amount_yuan": ("最低金额（元）", "Minimum amount (yuan)"), "baseline": ("基准", "Baseline"),
    "change_pct": ("变化（%）", "Change (%)"), "target_id": ("目标", "Target"),
    "reception_yuan_per_person": ("接待标准（元/人次）", "Reception standard (yuan per person)"),
    # thresholds set in another currency ([flags.<rule>.currency.X]), in that currency's units
    "currency": ("币种", "Currency"), "max_award": ("单一来源上限（该币种）", "Single-source cap (in the currency)"),
    "min_unit_total": ("单位合同总额下限（该币种）", "Minimum unit total (in the currency)"),
    "tender_threshold": ("公开招标数额标准（该币种）", "Tender threshold (in the currency)"),
}


def figure_name(key: str, lang: str) -> str:
    pair = FIGURES.get(key)
    return pair[1 if lang == "en" else 0] if pair else key


def texts(lang: str) -> dict[str, str]:
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in _PAIRS.items()}
