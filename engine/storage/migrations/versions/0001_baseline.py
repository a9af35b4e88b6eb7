"""Baseline: every table of the last release before migrations (engine, business calendar and the
handlers' business records), as `create_all` made them; a database created by that release is adopted
by stamping it at this revision (`aftersales db upgrade` does it).

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001_baseline'
down_revision = None
branch_labels = None
depends_on = None

# What a database made before migrations must have to be adopted at this revision.
TABLES = (
    'advisory_notices',
    'after_sales_cases',
    'after_sales_expert_opinions',
    'api_tokens',
    'audit_events',
    'beta_participants',
    'calendar_days',
    'calendar_settings',
    'case_snapshots',
    'consultation_summaries',
    'customer_devices',
    'customer_feedback',
    'customer_service_file_entries',
    'departments',
    'electronics_service_requests',
    'element_passes',
    'engineer_assignments',
    'engineers',
    'feedback_forms',
    'human_tasks',
    'improvement_plan_reviews',
    'improvement_plans',
    'incidents',
    'installation_sheets',
    'instruction_revisions',
    'knowledge_entries',
    'logistics_claims',
    'maintenance_plans',
    'maintenance_records',
    'memberships',
    'monthly_review_reports',
    'outbox_messages',
    'process_instances',
    'process_schedules',
    'process_versions',
    'product_backlog_items',
    'product_warranties',
    'quality_analysis_months',
    'quality_anomalies',
    'quality_figures',
    'rectification_reports',
    'repair_records',
    'replaced_parts',
    'sample_ledger',
    'service_callbacks',
    'service_cases',
    'sla_records',
    'technical_change_notices',
    'technical_consultations',
    'users',
    'warranty_criteria',
)


def upgrade() -> None:
    op.create_table('advisory_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('consultation_no', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('affected_models', sa.String(length=500), nullable=False),
    sa.Column('drafted_by', sa.String(length=120), nullable=False),
    sa.Column('approved_by', sa.String(length=120), nullable=False),
    sa.Column('approval_opinion', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notice_no')
    )
    op.create_index(op.f('ix_advisory_notices_consultation_no'), 'advisory_notices', ['consultation_no'], unique=False)
    op.create_index(op.f('ix_advisory_notices_instance_id'), 'advisory_notices', ['instance_id'], unique=False)
    op.create_index(op.f('ix_advisory_notices_sent_at'), 'advisory_notices', ['sent_at'], unique=False)
    op.create_table('after_sales_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('dealer', sa.String(length=200), nullable=False),
    sa.Column('end_customer', sa.String(length=200), nullable=False),
    sa.Column('customer_contact', sa.String(length=200), nullable=True),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('serial_no', sa.String(length=120), nullable=False),
    sa.Column('ship_date', sa.Date(), nullable=False),
    sa.Column('purchase_date', sa.Date(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('problem_description', sa.Text(), nullable=False),
    sa.Column('photos', sa.Text(), nullable=True),
    sa.Column('filed_by', sa.String(length=120), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('suggested_warranty', sa.String(length=20), nullable=True),
    sa.Column('warranty_basis', sa.Text(), nullable=True),
    sa.Column('warranty_until', sa.Date(), nullable=True),
    sa.Column('warranty', sa.String(length=20), nullable=True),
    sa.Column('warranty_override_reason', sa.Text(), nullable=True),
    sa.Column('warranty_judged_by', sa.String(length=120), nullable=True),
    sa.Column('judgments', sa.JSON(), nullable=False),
    sa.Column('return_decision', sa.String(length=20), nullable=True),
    sa.Column('return_basis', sa.Text(), nullable=True),
    sa.Column('return_judged_by', sa.String(length=120), nullable=True),
    sa.Column('return_escalated', sa.Boolean(), nullable=False),
    sa.Column('returned_received_on', sa.Date(), nullable=True),
    sa.Column('return_waybill_no', sa.String(length=120), nullable=True),
    sa.Column('recheck_findings', sa.Text(), nullable=True),
    sa.Column('analysis_route', sa.String(length=20), nullable=True),
    sa.Column('analysis_report_no', sa.String(length=40), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('responsible_party', sa.String(length=40), nullable=True),
    sa.Column('responsibility', sa.Text(), nullable=True),
    sa.Column('analysed_by', sa.String(length=120), nullable=True),
    sa.Column('analysed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('corrective_action', sa.Text(), nullable=True),
    sa.Column('action_department', sa.String(length=40), nullable=True),
    sa.Column('action_owner', sa.String(length=120), nullable=True),
    sa.Column('action_due', sa.Date(), nullable=True),
    sa.Column('action_status', sa.String(length=20), nullable=True),
    sa.Column('handling_report_no', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('handling_details', sa.Text(), nullable=True),
    sa.Column('amount', sa.Float(), nullable=True),
    sa.Column('parts_list', sa.Text(), nullable=True),
    sa.Column('handling_rounds', sa.Integer(), nullable=False),
    sa.Column('customer_rounds', sa.JSON(), nullable=False),
    sa.Column('dealer_notified_on', sa.Date(), nullable=True),
    sa.Column('customer_agreed', sa.Boolean(), nullable=True),
    sa.Column('shipment_info', sa.Text(), nullable=True),
    sa.Column('shipped_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('analysis_report_no'),
    sa.UniqueConstraint('case_no'),
    sa.UniqueConstraint('handling_report_no')
    )
    op.create_index(op.f('ix_after_sales_cases_action_department'), 'after_sales_cases', ['action_department'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_action_due'), 'after_sales_cases', ['action_due'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_action_status'), 'after_sales_cases', ['action_status'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_closed_at'), 'after_sales_cases', ['closed_at'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_dealer'), 'after_sales_cases', ['dealer'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_end_customer'), 'after_sales_cases', ['end_customer'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_instance_id'), 'after_sales_cases', ['instance_id'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_model'), 'after_sales_cases', ['model'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_outcome'), 'after_sales_cases', ['outcome'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_received_at'), 'after_sales_cases', ['received_at'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_responsible_party'), 'after_sales_cases', ['responsible_party'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_shipped_on'), 'after_sales_cases', ['shipped_on'], unique=False)
    op.create_index(op.f('ix_after_sales_cases_warranty'), 'after_sales_cases', ['warranty'], unique=False)
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('changed_by', sa.String(length=120), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('calendar_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_start', sa.Time(), nullable=False),
    sa.Column('work_end', sa.Time(), nullable=False),
    sa.Column('lunch_start', sa.Time(), nullable=True),
    sa.Column('lunch_end', sa.Time(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('changed_by', sa.String(length=120), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('consultation_summaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('review_comments', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=120), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_no')
    )
    op.create_index(op.f('ix_consultation_summaries_instance_id'), 'consultation_summaries', ['instance_id'], unique=False)
    op.create_table('customer_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('device_model', sa.String(length=120), nullable=True),
    sa.Column('serial_no', sa.String(length=120), nullable=False),
    sa.Column('contract_no', sa.String(length=120), nullable=True),
    sa.Column('configuration', sa.Text(), nullable=True),
    sa.Column('site_address', sa.String(length=300), nullable=True),
    sa.Column('region', sa.String(length=40), nullable=True),
    sa.Column('installation_no', sa.String(length=40), nullable=True),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('serial_no')
    )
    op.create_index(op.f('ix_customer_devices_customer'), 'customer_devices', ['customer'], unique=False)
    op.create_table('customer_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('product_model', sa.String(length=200), nullable=True),
    sa.Column('batch', sa.String(length=100), nullable=True),
    sa.Column('phenomenon', sa.Text(), nullable=True),
    sa.Column('frequency', sa.String(length=200), nullable=True),
    sa.Column('scenario', sa.Text(), nullable=True),
    sa.Column('expected_solution', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=120), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('feedback_class', sa.String(length=20), nullable=True),
    sa.Column('class_basis', sa.Text(), nullable=True),
    sa.Column('complexity', sa.String(length=20), nullable=True),
    sa.Column('first_response_channel', sa.String(length=20), nullable=True),
    sa.Column('first_response', sa.Text(), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('feasibility', sa.String(length=40), nullable=True),
    sa.Column('feasibility_note', sa.Text(), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('cause_category', sa.String(length=40), nullable=True),
    sa.Column('problem_key', sa.String(length=200), nullable=True),
    sa.Column('analysis_report', sa.Text(), nullable=True),
    sa.Column('test_cases', sa.Text(), nullable=True),
    sa.Column('analysed_by', sa.String(length=120), nullable=True),
    sa.Column('analysed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('implementation', sa.String(length=20), nullable=True),
    sa.Column('implementation_record', sa.Text(), nullable=True),
    sa.Column('verification_result', sa.String(length=20), nullable=True),
    sa.Column('customer_verification_report', sa.Text(), nullable=True),
    sa.Column('verified_by', sa.String(length=120), nullable=True),
    sa.Column('result_summary', sa.Text(), nullable=True),
    sa.Column('result_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('callback_comment', sa.Text(), nullable=True),
    sa.Column('handling_rounds', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recurrence_flagged', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('feedback_no')
    )
    op.create_index(op.f('ix_customer_feedback_cause_category'), 'customer_feedback', ['cause_category'], unique=False)
    op.create_index(op.f('ix_customer_feedback_closed_at'), 'customer_feedback', ['closed_at'], unique=False)
    op.create_index(op.f('ix_customer_feedback_customer'), 'customer_feedback', ['customer'], unique=False)
    op.create_index(op.f('ix_customer_feedback_feedback_class'), 'customer_feedback', ['feedback_class'], unique=False)
    op.create_index(op.f('ix_customer_feedback_instance_id'), 'customer_feedback', ['instance_id'], unique=False)
    op.create_index(op.f('ix_customer_feedback_problem_key'), 'customer_feedback', ['problem_key'], unique=False)
    op.create_index(op.f('ix_customer_feedback_product_model'), 'customer_feedback', ['product_model'], unique=False)
    op.create_index(op.f('ix_customer_feedback_received_at'), 'customer_feedback', ['received_at'], unique=False)
    op.create_table('customer_service_file_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('serial_no', sa.String(length=120), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('document', sa.String(length=120), nullable=False),
    sa.Column('business_key', sa.String(length=40), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('signed_by', sa.String(length=120), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('filed_by', sa.String(length=120), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_customer_service_file_entries_business_key'), 'customer_service_file_entries', ['business_key'], unique=False)
    op.create_index(op.f('ix_customer_service_file_entries_customer'), 'customer_service_file_entries', ['customer'], unique=False)
    op.create_index(op.f('ix_customer_service_file_entries_filed_at'), 'customer_service_file_entries', ['filed_at'], unique=False)
    op.create_index(op.f('ix_customer_service_file_entries_instance_id'), 'customer_service_file_entries', ['instance_id'], unique=False)
    op.create_index(op.f('ix_customer_service_file_entries_kind'), 'customer_service_file_entries', ['kind'], unique=False)
    op.create_index(op.f('ix_customer_service_file_entries_serial_no'), 'customer_service_file_entries', ['serial_no'], unique=False)
    op.create_table('departments',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('code'),
    sa.UniqueConstraint('name_zh')
    )
    op.create_table('electronics_service_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('customer_name', sa.String(length=200), nullable=False),
    sa.Column('identity_check', sa.String(length=40), nullable=False),
    sa.Column('contact_phone', sa.String(length=60), nullable=False),
    sa.Column('contact_email', sa.String(length=200), nullable=True),
    sa.Column('region', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('model', sa.String(length=60), nullable=False),
    sa.Column('serial_no', sa.String(length=60), nullable=False),
    sa.Column('purchase_date', sa.Date(), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('received_by', sa.String(length=120), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('product_name', sa.String(length=120), nullable=False),
    sa.Column('warranty_months', sa.Integer(), nullable=False),
    sa.Column('warranty_until', sa.Date(), nullable=False),
    sa.Column('in_warranty', sa.Boolean(), nullable=False),
    sa.Column('remote_guidance', sa.Text(), nullable=True),
    sa.Column('remote_resolved', sa.Boolean(), nullable=True),
    sa.Column('remote_by', sa.String(length=120), nullable=True),
    sa.Column('diagnosis', sa.Text(), nullable=True),
    sa.Column('knowledge_base_ref', sa.Text(), nullable=True),
    sa.Column('solution', sa.String(length=40), nullable=True),
    sa.Column('labour_fee', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('parts_fee', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('fee_total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('quote_note', sa.Text(), nullable=True),
    sa.Column('chargeable', sa.Boolean(), nullable=False),
    sa.Column('customer_consent', sa.String(length=20), nullable=True),
    sa.Column('consent_note', sa.Text(), nullable=True),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('work_order_no', sa.String(length=40), nullable=True),
    sa.Column('engineer', sa.String(length=120), nullable=True),
    sa.Column('engineer_name', sa.String(length=120), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('work_done', sa.Text(), nullable=True),
    sa.Column('fix_demonstrated', sa.Boolean(), nullable=True),
    sa.Column('serviced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sign_off_method', sa.String(length=20), nullable=True),
    sa.Column('signed_by', sa.String(length=120), nullable=True),
    sa.Column('online_rating', sa.Integer(), nullable=True),
    sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('amount_received', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('payment_method', sa.String(length=20), nullable=True),
    sa.Column('fee_invoice_no', sa.String(length=60), nullable=True),
    sa.Column('settled_by', sa.String(length=120), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_speed', sa.Integer(), nullable=True),
    sa.Column('professionalism', sa.Integer(), nullable=True),
    sa.Column('attitude', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Integer(), nullable=True),
    sa.Column('survey_comment', sa.Text(), nullable=True),
    sa.Column('surveyed_by', sa.String(length=120), nullable=True),
    sa.Column('surveyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_no'),
    sa.UniqueConstraint('work_order_no')
    )
    op.create_index(op.f('ix_electronics_service_requests_archived_at'), 'electronics_service_requests', ['archived_at'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_customer_name'), 'electronics_service_requests', ['customer_name'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_engineer'), 'electronics_service_requests', ['engineer'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_instance_id'), 'electronics_service_requests', ['instance_id'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_model'), 'electronics_service_requests', ['model'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_received_at'), 'electronics_service_requests', ['received_at'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_region'), 'electronics_service_requests', ['region'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_serial_no'), 'electronics_service_requests', ['serial_no'], unique=False)
    op.create_index(op.f('ix_electronics_service_requests_status'), 'electronics_service_requests', ['status'], unique=False)
    op.create_table('engineer_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engineer', sa.String(length=120), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('skill', sa.String(length=40), nullable=True),
    sa.Column('region', sa.String(length=40), nullable=True),
    sa.Column('outside_region', sa.Boolean(), nullable=False),
    sa.Column('assigned_by', sa.String(length=120), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_engineer_assignments_business_key'), 'engineer_assignments', ['business_key'], unique=False)
    op.create_index(op.f('ix_engineer_assignments_closed_at'), 'engineer_assignments', ['closed_at'], unique=False)
    op.create_index(op.f('ix_engineer_assignments_engineer'), 'engineer_assignments', ['engineer'], unique=False)
    op.create_index(op.f('ix_engineer_assignments_instance_id'), 'engineer_assignments', ['instance_id'], unique=False)
    op.create_index(op.f('ix_engineer_assignments_opened_at'), 'engineer_assignments', ['opened_at'], unique=False)
    op.create_table('engineers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('certificate_no', sa.String(length=60), nullable=True),
    sa.Column('certified_until', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_index(op.f('ix_engineers_region'), 'engineers', ['region'], unique=False)
    op.create_table('feedback_forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('spec_model', sa.String(length=200), nullable=False),
    sa.Column('batch_no', sa.String(length=100), nullable=False),
    sa.Column('quantity_shipped', sa.Integer(), nullable=False),
    sa.Column('quantity_nonconforming', sa.Integer(), nullable=False),
    sa.Column('recurring', sa.Boolean(), nullable=False),
    sa.Column('characteristic', sa.String(length=20), nullable=True),
    sa.Column('consequence', sa.String(length=30), nullable=True),
    sa.Column('problem_description', sa.Text(), nullable=False),
    sa.Column('suggested_category', sa.String(length=20), nullable=True),
    sa.Column('category_basis', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('filed_by', sa.String(length=120), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('form_no')
    )
    op.create_index(op.f('ix_feedback_forms_customer'), 'feedback_forms', ['customer'], unique=False)
    op.create_index(op.f('ix_feedback_forms_instance_id'), 'feedback_forms', ['instance_id'], unique=False)
    op.create_table('installation_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('installation_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('device_model', sa.String(length=120), nullable=False),
    sa.Column('serial_no', sa.String(length=120), nullable=False),
    sa.Column('contract_no', sa.String(length=120), nullable=False),
    sa.Column('configuration', sa.Text(), nullable=False),
    sa.Column('site_address', sa.String(length=300), nullable=False),
    sa.Column('region', sa.String(length=40), nullable=False),
    sa.Column('requested_by', sa.String(length=120), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('engineer', sa.String(length=120), nullable=True),
    sa.Column('sales_representative', sa.String(length=120), nullable=True),
    sa.Column('logistics_representative', sa.String(length=120), nullable=True),
    sa.Column('customer_representative', sa.String(length=120), nullable=True),
    sa.Column('packaging', sa.String(length=20), nullable=True),
    sa.Column('packaging_damage', sa.Text(), nullable=True),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contract_checks', sa.JSON(), nullable=False),
    sa.Column('procedure_no', sa.String(length=120), nullable=True),
    sa.Column('parameters', sa.Text(), nullable=True),
    sa.Column('trainees', sa.Text(), nullable=True),
    sa.Column('training_content', sa.Text(), nullable=True),
    sa.Column('signed_by', sa.String(length=120), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('installation_no')
    )
    op.create_index(op.f('ix_installation_sheets_customer'), 'installation_sheets', ['customer'], unique=False)
    op.create_index(op.f('ix_installation_sheets_instance_id'), 'installation_sheets', ['instance_id'], unique=False)
    op.create_index(op.f('ix_installation_sheets_serial_no'), 'installation_sheets', ['serial_no'], unique=False)
    op.create_table('instruction_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('consultation_no', sa.String(length=40), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('revision_no', sa.String(length=40), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('revised_by', sa.String(length=120), nullable=False),
    sa.Column('revised_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_instruction_revisions_consultation_no'), 'instruction_revisions', ['consultation_no'], unique=False)
    op.create_index(op.f('ix_instruction_revisions_instance_id'), 'instruction_revisions', ['instance_id'], unique=False)
    op.create_table('knowledge_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('product_model', sa.String(length=200), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('solution', sa.Text(), nullable=False),
    sa.Column('source_feedback_no', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index(op.f('ix_knowledge_entries_product_model'), 'knowledge_entries', ['product_model'], unique=False)
    op.create_table('logistics_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('installation_no', sa.String(length=40), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('carrier', sa.String(length=200), nullable=False),
    sa.Column('waybill_no', sa.String(length=120), nullable=False),
    sa.Column('damage', sa.Text(), nullable=False),
    sa.Column('amount', sa.Float(), nullable=True),
    sa.Column('filed_by', sa.String(length=120), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('claim_no')
    )
    op.create_index(op.f('ix_logistics_claims_installation_no'), 'logistics_claims', ['installation_no'], unique=False)
    op.create_index(op.f('ix_logistics_claims_instance_id'), 'logistics_claims', ['instance_id'], unique=False)
    op.create_table('maintenance_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('serial_no', sa.String(length=120), nullable=False),
    sa.Column('device_model', sa.String(length=120), nullable=True),
    sa.Column('interval_months', sa.Integer(), nullable=False),
    sa.Column('maintenance_items', sa.Text(), nullable=False),
    sa.Column('next_visit_on', sa.Date(), nullable=False),
    sa.Column('visits_done', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_reason', sa.Text(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_no')
    )
    op.create_index(op.f('ix_maintenance_plans_customer'), 'maintenance_plans', ['customer'], unique=False)
    op.create_index(op.f('ix_maintenance_plans_instance_id'), 'maintenance_plans', ['instance_id'], unique=False)
    op.create_index(op.f('ix_maintenance_plans_serial_no'), 'maintenance_plans', ['serial_no'], unique=False)
    op.create_index(op.f('ix_maintenance_plans_status'), 'maintenance_plans', ['status'], unique=False)
    op.create_table('maintenance_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('visit_no', sa.Integer(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('agreed_on', sa.Date(), nullable=True),
    sa.Column('agreed_with', sa.String(length=200), nullable=True),
    sa.Column('engineer', sa.String(length=120), nullable=True),
    sa.Column('work_done', sa.Text(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('parts_replaced', sa.Text(), nullable=True),
    sa.Column('signed_by', sa.String(length=120), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_maintenance_records_instance_id'), 'maintenance_records', ['instance_id'], unique=False)
    op.create_index(op.f('ix_maintenance_records_plan_no'), 'maintenance_records', ['plan_no'], unique=False)
    op.create_table('monthly_review_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('clerk_comments', sa.Text(), nullable=True),
    sa.Column('additional_information', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=120), nullable=True),
    sa.Column('department_opinions', sa.JSON(), nullable=True),
    sa.Column('review_conclusions', sa.Text(), nullable=True),
    sa.Column('improvement_decisions', sa.Text(), nullable=True),
    sa.Column('reviewers', sa.String(length=500), nullable=True),
    sa.Column('finalised_by', sa.String(length=120), nullable=True),
    sa.Column('finalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_no')
    )
    op.create_index(op.f('ix_monthly_review_reports_instance_id'), 'monthly_review_reports', ['instance_id'], unique=False)
    op.create_index(op.f('ix_monthly_review_reports_kind'), 'monthly_review_reports', ['kind'], unique=False)
    op.create_index(op.f('ix_monthly_review_reports_period_start'), 'monthly_review_reports', ['period_start'], unique=False)
    op.create_table('process_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('bpmn', sa.LargeBinary(), nullable=False),
    sa.Column('catalog', sa.JSON(), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deployed_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_key', 'version')
    )
    op.create_index(op.f('ix_process_versions_process_key'), 'process_versions', ['process_key'], unique=False)
    op.create_table('product_warranties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_prefix', sa.String(length=40), nullable=False),
    sa.Column('product_name', sa.String(length=120), nullable=False),
    sa.Column('warranty_months', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model_prefix')
    )
    op.create_table('quality_analysis_months',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('service_records', sa.Integer(), nullable=False),
    sa.Column('figure_count', sa.Integer(), nullable=False),
    sa.Column('data_summary', sa.Text(), nullable=True),
    sa.Column('anomaly_count', sa.Integer(), nullable=False),
    sa.Column('anomalies', sa.Text(), nullable=True),
    sa.Column('investigation', sa.Text(), nullable=True),
    sa.Column('initial_report', sa.Text(), nullable=True),
    sa.Column('key_problems', sa.Text(), nullable=True),
    sa.Column('reported_by', sa.String(length=120), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('engineering_analysis', sa.Text(), nullable=True),
    sa.Column('handling_proposal', sa.Text(), nullable=True),
    sa.Column('design_cause', sa.Boolean(), nullable=True),
    sa.Column('design_analysis', sa.Text(), nullable=True),
    sa.Column('improvement_measures', sa.Text(), nullable=True),
    sa.Column('task_force', sa.Boolean(), nullable=True),
    sa.Column('task_force_members', sa.String(length=400), nullable=True),
    sa.Column('improvement_rounds', sa.Integer(), nullable=False),
    sa.Column('fix_effective', sa.Boolean(), nullable=True),
    sa.Column('fix_verification', sa.Text(), nullable=True),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month')
    )
    op.create_index(op.f('ix_quality_analysis_months_instance_id'), 'quality_analysis_months', ['instance_id'], unique=False)
    op.create_table('quality_anomalies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('fault', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('trailing_counts', sa.JSON(), nullable=False),
    sa.Column('trailing_mean', sa.Float(), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_quality_anomalies_instance_id'), 'quality_anomalies', ['instance_id'], unique=False)
    op.create_index(op.f('ix_quality_anomalies_month'), 'quality_anomalies', ['month'], unique=False)
    op.create_table('quality_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('fault', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('reported_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('doubt_reason', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('entered_by', sa.String(length=120), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_by', sa.String(length=120), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_quality_figures_instance_id'), 'quality_figures', ['instance_id'], unique=False)
    op.create_index(op.f('ix_quality_figures_month'), 'quality_figures', ['month'], unique=False)
    op.create_table('rectification_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('test_result', sa.Text(), nullable=True),
    sa.Column('cause_analysis', sa.Text(), nullable=True),
    sa.Column('improvement_measures', sa.Text(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('issued_by', sa.String(length=120), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_no')
    )
    op.create_index(op.f('ix_rectification_reports_business_key'), 'rectification_reports', ['business_key'], unique=False)
    op.create_index(op.f('ix_rectification_reports_instance_id'), 'rectification_reports', ['instance_id'], unique=False)
    op.create_table('repair_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repair_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('serial_no', sa.String(length=120), nullable=False),
    sa.Column('device_model', sa.String(length=120), nullable=True),
    sa.Column('fault_description', sa.Text(), nullable=False),
    sa.Column('agreed_response_hours', sa.Integer(), nullable=False),
    sa.Column('reported_by', sa.String(length=120), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('engineer', sa.String(length=120), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_met', sa.Boolean(), nullable=True),
    sa.Column('instruments_used', sa.Text(), nullable=True),
    sa.Column('fault_cause', sa.Text(), nullable=True),
    sa.Column('cause_explained_to', sa.String(length=120), nullable=True),
    sa.Column('parts_needed', sa.Text(), nullable=True),
    sa.Column('fee_estimate', sa.Float(), nullable=True),
    sa.Column('consent', sa.String(length=20), nullable=True),
    sa.Column('consent_by', sa.String(length=120), nullable=True),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('repair_work', sa.Text(), nullable=True),
    sa.Column('parts_replaced', sa.Text(), nullable=True),
    sa.Column('fees_charged', sa.Float(), nullable=True),
    sa.Column('test_result', sa.Text(), nullable=True),
    sa.Column('signed_by', sa.String(length=120), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('retrained', sa.Boolean(), nullable=False),
    sa.Column('trainees', sa.Text(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repair_no')
    )
    op.create_index(op.f('ix_repair_records_customer'), 'repair_records', ['customer'], unique=False)
    op.create_index(op.f('ix_repair_records_instance_id'), 'repair_records', ['instance_id'], unique=False)
    op.create_index(op.f('ix_repair_records_serial_no'), 'repair_records', ['serial_no'], unique=False)
    op.create_table('sample_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('spec_model', sa.String(length=200), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('arrival_date', sa.String(length=10), nullable=False),
    sa.Column('custodian', sa.String(length=120), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('location', sa.String(length=40), nullable=False),
    sa.Column('registered_by', sa.String(length=120), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('moved_to_sample_room_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('label_no')
    )
    op.create_index(op.f('ix_sample_ledger_business_key'), 'sample_ledger', ['business_key'], unique=False)
    op.create_index(op.f('ix_sample_ledger_instance_id'), 'sample_ledger', ['instance_id'], unique=False)
    op.create_table('service_callbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('business_key', sa.String(length=40), nullable=True),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('case_kind', sa.String(length=40), nullable=False),
    sa.Column('called_by', sa.String(length=120), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('use_feedback', sa.Text(), nullable=True),
    sa.Column('installation_feedback', sa.Text(), nullable=True),
    sa.Column('training_feedback', sa.Text(), nullable=True),
    sa.Column('satisfaction', sa.String(length=40), nullable=True),
    sa.Column('complaint_about_staff', sa.Boolean(), nullable=False),
    sa.Column('complained_staff', sa.String(length=200), nullable=True),
    sa.Column('complaint_details', sa.Text(), nullable=True),
    sa.Column('penalty', sa.Text(), nullable=True),
    sa.Column('internal_notice', sa.Text(), nullable=True),
    sa.Column('handled_by', sa.String(length=120), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_service_callbacks_business_key'), 'service_callbacks', ['business_key'], unique=False)
    op.create_index(op.f('ix_service_callbacks_customer'), 'service_callbacks', ['customer'], unique=False)
    op.create_index(op.f('ix_service_callbacks_instance_id'), 'service_callbacks', ['instance_id'], unique=False)
    op.create_table('service_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('customer_type', sa.String(length=40), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('product_service', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=120), nullable=False),
    sa.Column('first_response', sa.Text(), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('request_type', sa.String(length=40), nullable=True),
    sa.Column('urgency', sa.String(length=40), nullable=True),
    sa.Column('urgency_basis', sa.Text(), nullable=True),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('people', sa.JSON(), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('time_points', sa.JSON(), nullable=False),
    sa.Column('demands', sa.JSON(), nullable=False),
    sa.Column('restarts', sa.Integer(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('customer_confirmed', sa.Boolean(), nullable=True),
    sa.Column('satisfaction', sa.String(length=40), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_no')
    )
    op.create_index(op.f('ix_service_cases_archived_at'), 'service_cases', ['archived_at'], unique=False)
    op.create_index(op.f('ix_service_cases_customer'), 'service_cases', ['customer'], unique=False)
    op.create_index(op.f('ix_service_cases_customer_type'), 'service_cases', ['customer_type'], unique=False)
    op.create_index(op.f('ix_service_cases_instance_id'), 'service_cases', ['instance_id'], unique=False)
    op.create_index(op.f('ix_service_cases_received_at'), 'service_cases', ['received_at'], unique=False)
    op.create_index(op.f('ix_service_cases_request_type'), 'service_cases', ['request_type'], unique=False)
    op.create_index(op.f('ix_service_cases_urgency'), 'service_cases', ['urgency'], unique=False)
    op.create_table('technical_change_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('effective_date', sa.String(length=10), nullable=False),
    sa.Column('tooling_required', sa.Boolean(), nullable=False),
    sa.Column('issued_by', sa.String(length=120), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notice_no')
    )
    op.create_index(op.f('ix_technical_change_notices_business_key'), 'technical_change_notices', ['business_key'], unique=False)
    op.create_index(op.f('ix_technical_change_notices_instance_id'), 'technical_change_notices', ['instance_id'], unique=False)
    op.create_table('technical_consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_no', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=200), nullable=True),
    sa.Column('device_model', sa.String(length=120), nullable=False),
    sa.Column('serial_no', sa.String(length=120), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('received_by', sa.String(length=120), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=120), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('prominent', sa.Boolean(), nullable=False),
    sa.Column('prominent_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_no')
    )
    op.create_index(op.f('ix_technical_consultations_customer'), 'technical_consultations', ['customer'], unique=False)
    op.create_index(op.f('ix_technical_consultations_device_model'), 'technical_consultations', ['device_model'], unique=False)
    op.create_index(op.f('ix_technical_consultations_instance_id'), 'technical_consultations', ['instance_id'], unique=False)
    op.create_index(op.f('ix_technical_consultations_received_at'), 'technical_consultations', ['received_at'], unique=False)
    op.create_table('users',
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username')
    )
    op.create_table('warranty_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_prefix', sa.String(length=60), nullable=False),
    sa.Column('product_category', sa.String(length=120), nullable=False),
    sa.Column('warranty_months', sa.Integer(), nullable=False),
    sa.Column('counted_from', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model_prefix')
    )
    op.create_table('after_sales_expert_opinions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('suspected_cause', sa.Text(), nullable=True),
    sa.Column('suggested_party', sa.String(length=40), nullable=True),
    sa.Column('suggested_action', sa.Text(), nullable=True),
    sa.Column('given_by', sa.String(length=120), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['after_sales_cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_after_sales_expert_opinions_case_id'), 'after_sales_expert_opinions', ['case_id'], unique=False)
    op.create_index(op.f('ix_after_sales_expert_opinions_instance_id'), 'after_sales_expert_opinions', ['instance_id'], unique=False)
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_tokens_username'), 'api_tokens', ['username'], unique=False)
    op.create_table('beta_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('handling_round', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['customer_feedback.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_beta_participants_feedback_id'), 'beta_participants', ['feedback_id'], unique=False)
    op.create_table('improvement_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('short_term_fix', sa.Text(), nullable=False),
    sa.Column('long_term_change', sa.Text(), nullable=False),
    sa.Column('schedule', sa.String(length=200), nullable=False),
    sa.Column('owners', sa.String(length=200), nullable=False),
    sa.Column('resources', sa.Text(), nullable=True),
    sa.Column('implementation', sa.String(length=20), nullable=False),
    sa.Column('rd_iteration', sa.Boolean(), nullable=False),
    sa.Column('drafted_by', sa.String(length=120), nullable=False),
    sa.Column('drafted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['customer_feedback.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_improvement_plans_feedback_id'), 'improvement_plans', ['feedback_id'], unique=False)
    op.create_table('memberships',
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['department'], ['departments.code'], ),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('username', 'department')
    )
    op.create_index(op.f('ix_memberships_department'), 'memberships', ['department'], unique=False)
    op.create_table('process_instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=120), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['process_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_instances_due', 'process_instances', ['status', 'next_due_at'], unique=False)
    op.create_index('ix_instances_process_started', 'process_instances', ['process_key', 'started_at', 'id'], unique=False)
    op.create_index('ix_instances_started', 'process_instances', ['started_at', 'id'], unique=False)
    op.create_index('ix_instances_status_started', 'process_instances', ['status', 'started_at', 'id'], unique=False)
    op.create_index('ix_instances_version_started', 'process_instances', ['version_id', 'started_at', 'id'], unique=False)
    op.create_index(op.f('ix_process_instances_business_key'), 'process_instances', ['business_key'], unique=False)
    op.create_index(op.f('ix_process_instances_process_key'), 'process_instances', ['process_key'], unique=False)
    op.create_table('process_schedules',
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('start_event_id', sa.String(length=120), nullable=False),
    sa.Column('timer_kind', sa.String(length=10), nullable=False),
    sa.Column('timer_value', sa.String(length=200), nullable=False),
    sa.Column('next_index', sa.Integer(), nullable=False),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_started_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_instance_id', sa.Integer(), nullable=True),
    sa.Column('occurrences_started', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['process_versions.id'], ),
    sa.PrimaryKeyConstraint('process_key')
    )
    op.create_index(op.f('ix_process_schedules_next_due_at'), 'process_schedules', ['next_due_at'], unique=False)
    op.create_table('product_backlog_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('product_model', sa.String(length=200), nullable=True),
    sa.Column('suggestion', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('added_by', sa.String(length=120), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['customer_feedback.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_product_backlog_items_feedback_id'), 'product_backlog_items', ['feedback_id'], unique=False)
    op.create_table('replaced_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('part_name', sa.String(length=120), nullable=False),
    sa.Column('old_serial_no', sa.String(length=80), nullable=False),
    sa.Column('new_serial_no', sa.String(length=80), nullable=False),
    sa.Column('engineer', sa.String(length=120), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['electronics_service_requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('new_serial_no')
    )
    op.create_index(op.f('ix_replaced_parts_instance_id'), 'replaced_parts', ['instance_id'], unique=False)
    op.create_index(op.f('ix_replaced_parts_old_serial_no'), 'replaced_parts', ['old_serial_no'], unique=False)
    op.create_index(op.f('ix_replaced_parts_request_id'), 'replaced_parts', ['request_id'], unique=False)
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_audit_events_instance_id'), 'audit_events', ['instance_id'], unique=False)
    op.create_index(op.f('ix_audit_events_kind'), 'audit_events', ['kind'], unique=False)
    op.create_table('case_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('after_event_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_snapshots_instance_id'), 'case_snapshots', ['instance_id'], unique=False)
    op.create_table('element_passes',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=False),
    sa.Column('passes', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('instance_id', 'element_id')
    )
    op.create_table('human_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_uuid', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=True),
    sa.Column('customer', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('heads_only', sa.Boolean(), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_order', sa.DateTime(timezone=True), nullable=False),
    sa.Column('limit_name', sa.String(length=200), nullable=True),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.String(length=120), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_uuid')
    )
    op.create_index(op.f('ix_human_tasks_instance_id'), 'human_tasks', ['instance_id'], unique=False)
    op.create_index('ix_tasks_assignee', 'human_tasks', ['state', 'claimed_by', 'department', 'due_order'], unique=False)
    op.create_index('ix_tasks_created', 'human_tasks', ['state', 'department', 'created_at'], unique=False)
    op.create_index('ix_tasks_customer_instance', 'human_tasks', ['customer', 'instance_id'], unique=False)
    op.create_index('ix_tasks_department_instance', 'human_tasks', ['department', 'instance_id'], unique=False)
    op.create_index('ix_tasks_inbox', 'human_tasks', ['state', 'department', 'due_order', 'warn_at', 'claimed_by', 'category', 'business_key', 'customer', 'id'], unique=False)
    op.create_table('improvement_plan_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('reviewer', sa.String(length=120), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['improvement_plans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_improvement_plan_reviews_plan_id'), 'improvement_plan_reviews', ['plan_id'], unique=False)
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_uuid', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=False),
    sa.Column('topic', sa.String(length=120), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_incidents_instance_id'), 'incidents', ['instance_id'], unique=False)
    op.create_index(op.f('ix_incidents_next_retry_at'), 'incidents', ['next_retry_at'], unique=False)
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=80), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_to', sa.Text(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    op.create_index(op.f('ix_outbox_messages_instance_id'), 'outbox_messages', ['instance_id'], unique=False)
    op.create_index('ix_outbox_pending', 'outbox_messages', ['status', 'next_attempt_at'], unique=False)
    op.create_table('sla_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=120), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timer_task_uuid', sa.String(length=36), nullable=False),
    sa.Column('guarded_element_id', sa.String(length=120), nullable=True),
    sa.Column('duty_task_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('person', sa.String(length=120), nullable=True),
    sa.Column('holders', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('met_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sla_department_due', 'sla_records', ['department', 'due_at'], unique=False)
    op.create_index('ix_sla_instance_status', 'sla_records', ['instance_id', 'status'], unique=False)
    op.create_index('ix_sla_person_due', 'sla_records', ['person', 'due_at'], unique=False)
    op.create_index('ix_sla_status_instance', 'sla_records', ['status', 'instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sla_status_instance', table_name='sla_records')
    op.drop_index('ix_sla_person_due', table_name='sla_records')
    op.drop_index('ix_sla_instance_status', table_name='sla_records')
    op.drop_index('ix_sla_department_due', table_name='sla_records')
    op.drop_table('sla_records')
    op.drop_index('ix_outbox_pending', table_name='outbox_messages')
    op.drop_index(op.f('ix_outbox_messages_instance_id'), table_name='outbox_messages')
    op.drop_table('outbox_messages')
    op.drop_index(op.f('ix_incidents_next_retry_at'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_instance_id'), table_name='incidents')
    op.drop_table('incidents')
    op.drop_index(op.f('ix_improvement_plan_reviews_plan_id'), table_name='improvement_plan_reviews')
    op.drop_table('improvement_plan_reviews')
    op.drop_index('ix_tasks_inbox', table_name='human_tasks')
    op.drop_index('ix_tasks_department_instance', table_name='human_tasks')
    op.drop_index('ix_tasks_customer_instance', table_name='human_tasks')
    op.drop_index('ix_tasks_created', table_name='human_tasks')
    op.drop_index('ix_tasks_assignee', table_name='human_tasks')
    op.drop_index(op.f('ix_human_tasks_instance_id'), table_name='human_tasks')
    op.drop_table('human_tasks')
    op.drop_table('element_passes')
    op.drop_index(op.f('ix_case_snapshots_instance_id'), table_name='case_snapshots')
    op.drop_table('case_snapshots')
    op.drop_index(op.f('ix_audit_events_kind'), table_name='audit_events')
    op.drop_index(op.f('ix_audit_events_instance_id'), table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_index(op.f('ix_replaced_parts_request_id'), table_name='replaced_parts')
    op.drop_index(op.f('ix_replaced_parts_old_serial_no'), table_name='replaced_parts')
    op.drop_index(op.f('ix_replaced_parts_instance_id'), table_name='replaced_parts')
    op.drop_table('replaced_parts')
    op.drop_index(op.f('ix_product_backlog_items_feedback_id'), table_name='product_backlog_items')
    op.drop_table('product_backlog_items')
    op.drop_index(op.f('ix_process_schedules_next_due_at'), table_name='process_schedules')
    op.drop_table('process_schedules')
    op.drop_index(op.f('ix_process_instances_process_key'), table_name='process_instances')
    op.drop_index(op.f('ix_process_instances_business_key'), table_name='process_instances')
    op.drop_index('ix_instances_version_started', table_name='process_instances')
    op.drop_index('ix_instances_status_started', table_name='process_instances')
    op.drop_index('ix_instances_started', table_name='process_instances')
    op.drop_index('ix_instances_process_started', table_name='process_instances')
    op.drop_index('ix_instances_due', table_name='process_instances')
    op.drop_table('process_instances')
    op.drop_index(op.f('ix_memberships_department'), table_name='memberships')
    op.drop_table('memberships')
    op.drop_index(op.f('ix_improvement_plans_feedback_id'), table_name='improvement_plans')
    op.drop_table('improvement_plans')
    op.drop_index(op.f('ix_beta_participants_feedback_id'), table_name='beta_participants')
    op.drop_table('beta_participants')
    op.drop_index(op.f('ix_api_tokens_username'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index(op.f('ix_after_sales_expert_opinions_instance_id'), table_name='after_sales_expert_opinions')
    op.drop_index(op.f('ix_after_sales_expert_opinions_case_id'), table_name='after_sales_expert_opinions')
    op.drop_table('after_sales_expert_opinions')
    op.drop_table('warranty_criteria')
    op.drop_table('users')
    op.drop_index(op.f('ix_technical_consultations_received_at'), table_name='technical_consultations')
    op.drop_index(op.f('ix_technical_consultations_instance_id'), table_name='technical_consultations')
    op.drop_index(op.f('ix_technical_consultations_device_model'), table_name='technical_consultations')
    op.drop_index(op.f('ix_technical_consultations_customer'), table_name='technical_consultations')
    op.drop_table('technical_consultations')
    op.drop_index(op.f('ix_technical_change_notices_instance_id'), table_name='technical_change_notices')
    op.drop_index(op.f('ix_technical_change_notices_business_key'), table_name='technical_change_notices')
    op.drop_table('technical_change_notices')
    op.drop_index(op.f('ix_service_cases_urgency'), table_name='service_cases')
    op.drop_index(op.f('ix_service_cases_request_type'), table_name='service_cases')
    op.drop_index(op.f('ix_service_cases_received_at'), table_name='service_cases')
    op.drop_index(op.f('ix_service_cases_instance_id'), table_name='service_cases')
    op.drop_index(op.f('ix_service_cases_customer_type'), table_name='service_cases')
    op.drop_index(op.f('ix_service_cases_customer'), table_name='service_cases')
    op.drop_index(op.f('ix_service_cases_archived_at'), table_name='service_cases')
    op.drop_table('service_cases')
    op.drop_index(op.f('ix_service_callbacks_instance_id'), table_name='service_callbacks')
    op.drop_index(op.f('ix_service_callbacks_customer'), table_name='service_callbacks')
    op.drop_index(op.f('ix_service_callbacks_business_key'), table_name='service_callbacks')
    op.drop_table('service_callbacks')
    op.drop_index(op.f('ix_sample_ledger_instance_id'), table_name='sample_ledger')
    op.drop_index(op.f('ix_sample_ledger_business_key'), table_name='sample_ledger')
    op.drop_table('sample_ledger')
    op.drop_index(op.f('ix_repair_records_serial_no'), table_name='repair_records')
    op.drop_index(op.f('ix_repair_records_instance_id'), table_name='repair_records')
    op.drop_index(op.f('ix_repair_records_customer'), table_name='repair_records')
    op.drop_table('repair_records')
    op.drop_index(op.f('ix_rectification_reports_instance_id'), table_name='rectification_reports')
    op.drop_index(op.f('ix_rectification_reports_business_key'), table_name='rectification_reports')
    op.drop_table('rectification_reports')
    op.drop_index(op.f('ix_quality_figures_month'), table_name='quality_figures')
    op.drop_index(op.f('ix_quality_figures_instance_id'), table_name='quality_figures')
    op.drop_table('quality_figures')
    op.drop_index(op.f('ix_quality_anomalies_month'), table_name='quality_anomalies')
    op.drop_index(op.f('ix_quality_anomalies_instance_id'), table_name='quality_anomalies')
    op.drop_table('quality_anomalies')
    op.drop_index(op.f('ix_quality_analysis_months_instance_id'), table_name='quality_analysis_months')
    op.drop_table('quality_analysis_months')
    op.drop_table('product_warranties')
    op.drop_index(op.f('ix_process_versions_process_key'), table_name='process_versions')
    op.drop_table('process_versions')
    op.drop_index(op.f('ix_monthly_review_reports_period_start'), table_name='monthly_review_reports')
    op.drop_index(op.f('ix_monthly_review_reports_kind'), table_name='monthly_review_reports')
    op.drop_index(op.f('ix_monthly_review_reports_instance_id'), table_name='monthly_review_reports')
    op.drop_table('monthly_review_reports')
    op.drop_index(op.f('ix_maintenance_records_plan_no'), table_name='maintenance_records')
    op.drop_index(op.f('ix_maintenance_records_instance_id'), table_name='maintenance_records')
    op.drop_table('maintenance_records')
    op.drop_index(op.f('ix_maintenance_plans_status'), table_name='maintenance_plans')
    op.drop_index(op.f('ix_maintenance_plans_serial_no'), table_name='maintenance_plans')
    op.drop_index(op.f('ix_maintenance_plans_instance_id'), table_name='maintenance_plans')
    op.drop_index(op.f('ix_maintenance_plans_customer'), table_name='maintenance_plans')
    op.drop_table('maintenance_plans')
    op.drop_index(op.f('ix_logistics_claims_instance_id'), table_name='logistics_claims')
    op.drop_index(op.f('ix_logistics_claims_installation_no'), table_name='logistics_claims')
    op.drop_table('logistics_claims')
    op.drop_index(op.f('ix_knowledge_entries_product_model'), table_name='knowledge_entries')
    op.drop_table('knowledge_entries')
    op.drop_index(op.f('ix_instruction_revisions_instance_id'), table_name='instruction_revisions')
    op.drop_index(op.f('ix_instruction_revisions_consultation_no'), table_name='instruction_revisions')
    op.drop_table('instruction_revisions')
    op.drop_index(op.f('ix_installation_sheets_serial_no'), table_name='installation_sheets')
    op.drop_index(op.f('ix_installation_sheets_instance_id'), table_name='installation_sheets')
    op.drop_index(op.f('ix_installation_sheets_customer'), table_name='installation_sheets')
    op.drop_table('installation_sheets')
    op.drop_index(op.f('ix_feedback_forms_instance_id'), table_name='feedback_forms')
    op.drop_index(op.f('ix_feedback_forms_customer'), table_name='feedback_forms')
    op.drop_table('feedback_forms')
    op.drop_index(op.f('ix_engineers_region'), table_name='engineers')
    op.drop_table('engineers')
    op.drop_index(op.f('ix_engineer_assignments_opened_at'), table_name='engineer_assignments')
    op.drop_index(op.f('ix_engineer_assignments_instance_id'), table_name='engineer_assignments')
    op.drop_index(op.f('ix_engineer_assignments_engineer'), table_name='engineer_assignments')
    op.drop_index(op.f('ix_engineer_assignments_closed_at'), table_name='engineer_assignments')
    op.drop_index(op.f('ix_engineer_assignments_business_key'), table_name='engineer_assignments')
    op.drop_table('engineer_assignments')
    op.drop_index(op.f('ix_electronics_service_requests_status'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_serial_no'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_region'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_received_at'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_model'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_instance_id'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_engineer'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_customer_name'), table_name='electronics_service_requests')
    op.drop_index(op.f('ix_electronics_service_requests_archived_at'), table_name='electronics_service_requests')
    op.drop_table('electronics_service_requests')
    op.drop_table('departments')
    op.drop_index(op.f('ix_customer_service_file_entries_serial_no'), table_name='customer_service_file_entries')
    op.drop_index(op.f('ix_customer_service_file_entries_kind'), table_name='customer_service_file_entries')
    op.drop_index(op.f('ix_customer_service_file_entries_instance_id'), table_name='customer_service_file_entries')
    op.drop_index(op.f('ix_customer_service_file_entries_filed_at'), table_name='customer_service_file_entries')
    op.drop_index(op.f('ix_customer_service_file_entries_customer'), table_name='customer_service_file_entries')
    op.drop_index(op.f('ix_customer_service_file_entries_business_key'), table_name='customer_service_file_entries')
    op.drop_table('customer_service_file_entries')
    op.drop_index(op.f('ix_customer_feedback_received_at'), table_name='customer_feedback')
    op.drop_index(op.f('ix_customer_feedback_product_model'), table_name='customer_feedback')
    op.drop_index(op.f('ix_customer_feedback_problem_key'), table_name='customer_feedback')
    op.drop_index(op.f('ix_customer_feedback_instance_id'), table_name='customer_feedback')
    op.drop_index(op.f('ix_customer_feedback_feedback_class'), table_name='customer_feedback')
    op.drop_index(op.f('ix_customer_feedback_customer'), table_name='customer_feedback')
    op.drop_index(op.f('ix_customer_feedback_closed_at'), table_name='customer_feedback')
    op.drop_index(op.f('ix_customer_feedback_cause_category'), table_name='customer_feedback')
    op.drop_table('customer_feedback')
    op.drop_index(op.f('ix_customer_devices_customer'), table_name='customer_devices')
    op.drop_table('customer_devices')
    op.drop_index(op.f('ix_consultation_summaries_instance_id'), table_name='consultation_summaries')
    op.drop_table('consultation_summaries')
    op.drop_table('calendar_settings')
    op.drop_table('calendar_days')
    op.drop_index(op.f('ix_after_sales_cases_warranty'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_shipped_on'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_responsible_party'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_received_at'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_outcome'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_model'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_instance_id'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_end_customer'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_dealer'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_closed_at'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_action_status'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_action_due'), table_name='after_sales_cases')
    op.drop_index(op.f('ix_after_sales_cases_action_department'), table_name='after_sales_cases')
    op.drop_table('after_sales_cases')
    op.drop_index(op.f('ix_advisory_notices_sent_at'), table_name='advisory_notices')
    op.drop_index(op.f('ix_advisory_notices_instance_id'), table_name='advisory_notices')
    op.drop_index(op.f('ix_advisory_notices_consultation_no'), table_name='advisory_notices')
    op.drop_table('advisory_notices')
