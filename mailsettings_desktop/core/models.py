"""SQLAlchemy tables: employees, projects, external addresses and their project links.

The password of an external address is deliberately not a column: it lives in the
operating system's keyring under the address's `secret_key`.

An external address belongs either to one employee (`employee_id` set) or to the company
(`is_company`, `employee_id` NULL). A company address is usable by every employee
(`all_employees`) or by those listed in `company_address_employees`. The partial unique
indexes keep "one default per employee" and "one company default" true even if a code
path forgets to clear the old default first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


address_projects = Table(
    "address_projects",
    Base.metadata,
    Column(
        "address_id",
        ForeignKey("external_addresses.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("project_id", ForeignKey("projects.id", ondelete="RESTRICT"), primary_key=True),
)

# Which employees may send from a company address that is not open to all of them.
# RESTRICT on the employee: removing an employee deletes these rows explicitly.
company_address_employees = Table(
    "company_address_employees",
    Base.metadata,
    Column(
        "address_id",
        ForeignKey("external_addresses.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "employee_id",
        ForeignKey("employees.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)


class Employee(Base):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[str] = mapped_column(String(200), default="")
    internal_email: Mapped[str | None] = mapped_column(String(320), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    addresses: Mapped[list[ExternalAddress]] = relationship(back_populates="employee")


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class ExternalAddress(Base):
    __tablename__ = "external_addresses"
    __table_args__ = (
        UniqueConstraint("employee_id", "email", name="uq_employee_email"),
        CheckConstraint(
            "(is_company = 1 AND employee_id IS NULL) "
            "OR (is_company = 0 AND employee_id IS NOT NULL AND all_employees = 0)",
            name="ck_address_owner",
        ),
        Index(
            "uq_employee_default",
            "employee_id",
            unique=True,
            sqlite_where=text("is_default = 1 AND employee_id IS NOT NULL"),
        ),
        Index(
            "uq_company_default",
            "is_company",
            unique=True,
            sqlite_where=text("is_default = 1 AND is_company = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="RESTRICT"), index=True, default=None
    )
    is_company: Mapped[bool] = mapped_column(Boolean, default=False)
    all_employees: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    provider_key: Mapped[str] = mapped_column(String(50), default="custom")
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(320))
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=20)
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    secret_key: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of a server certificate the admin chose to trust for this address only.
    trusted_cert_sha256: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    last_test_ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    last_test_summary: Mapped[str] = mapped_column(String(500), default="")
    last_tested_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    employee: Mapped[Employee | None] = relationship(back_populates="addresses")
    projects: Mapped[list[Project]] = relationship(secondary=address_projects)
    allowed_employees: Mapped[list[Employee]] = relationship(secondary=company_address_employees)
