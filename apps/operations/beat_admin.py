"""django-celery-beat's admin, in the reader's language: its task label, help texts and
schedule descriptions are English (or Chinese naming English literals) upstream, and the jobs
the panel creates are stored under English names (derpmgr/schedules.py marks them)."""

from cron_descriptor import ExpressionDescriptor, Options
from django.contrib import admin
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

_FIELDS = {
    "task": (_("Task"), _("The Celery task the job runs.")),
    "args": (_("Positional arguments"), _("A JSON list, e.g. [\"a\", 1].")),
    "kwargs": (_("Keyword arguments"), _("A JSON object, e.g. {\"days\": 30}.")),
    "enabled": (_("Enabled"), _("Untick to pause the job.")),
    "one_off": (_("Once only"), _("Run the job once, then pause it.")),
    "exchange": (_("Exchange"), _("Overrides the exchange for low-level routing.")),
}


def cron_in_words(crontab: CrontabSchedule) -> str:
    """The schedule as a sentence in the reader's language (cron-descriptor has Chinese)."""
    options = Options()
    options.locale_code = "zh_CN" if (get_language() or "").startswith("zh") else "en_US"
    options.use_24hour_time_format = True
    expression = " ".join([crontab.minute, crontab.hour, crontab.day_of_month,
                           crontab.month_of_year, crontab.day_of_week])
    try:
        return f"{ExpressionDescriptor(expression, options)} ({crontab.timezone})"
    except Exception:  # cron-descriptor raises plain exceptions on fields it cannot read
        return expression


class TranslatedLabels:
    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in _FIELDS:
            field.label, field.help_text = _FIELDS[db_field.name]
        return field


class JobColumns:
    @admin.display(description=_("name"), ordering="name")
    def job(self, task):
        return gettext(task.name)

    @admin.display(description=_("Task"))
    def task_path(self, task):
        return task.task

    @admin.display(description=_("Last run"))
    def last_run(self, task):
        return task.last_run_at or "—"


class PeriodicTaskInline(JobColumns, beat.PeriodicTaskInline):
    fields = readonly_fields = ("job", "task_path")
    verbose_name = verbose_name_plural = _("Jobs on this schedule")


class ScheduleAdmin(admin.ModelAdmin):
    inlines = [PeriodicTaskInline]


class PeriodicTaskAdmin(JobColumns, TranslatedLabels, beat.PeriodicTaskAdmin):
    list_display = ("job", "enabled", "schedule", "start_time", "last_run", "one_off")
    list_filter = ("enabled", "one_off")  # beat's own also filters by "Task Name", untranslatable
    readonly_fields = ("last_run", "crontab_translation")

    def get_fieldsets(self, request, obj=None):
        return [(name, {**options, "fields": [("last_run" if field == "last_run_at" else field)
                                              for field in options["fields"]]})
                for name, options in super().get_fieldsets(request, obj)]

    @admin.display(description=_("schedule"))
    def schedule(self, task):
        return cron_in_words(task.crontab) if task.crontab_id else task.scheduler

    @admin.display(description=_("In words"))
    def crontab_translation(self, task):
        return cron_in_words(task.crontab) if task.crontab_id else "—"


class CrontabScheduleAdmin(ScheduleAdmin, beat.CrontabScheduleAdmin):
    list_display = ("__str__", "in_words")
    fields = ("in_words", "minute", "hour", "day_of_month", "month_of_year", "day_of_week",
              "timezone")
    readonly_fields = ("in_words",)

    @admin.display(description=_("In words"))
    def in_words(self, crontab):
        return cron_in_words(crontab)


admin.site.unregister([PeriodicTask, CrontabSchedule, ClockedSchedule, SolarSchedule,
                       IntervalSchedule])
admin.site.register(PeriodicTask, PeriodicTaskAdmin)
admin.site.register(CrontabSchedule, CrontabScheduleAdmin)
admin.site.register(ClockedSchedule, type("ClockedScheduleAdmin",
                                          (ScheduleAdmin, beat.ClockedScheduleAdmin), {}))
admin.site.register(SolarSchedule, type("SolarScheduleAdmin", (ScheduleAdmin, beat.SolarScheduleAdmin), {}))
admin.site.register(IntervalSchedule, type("IntervalScheduleAdmin",
                                           (ScheduleAdmin, beat.IntervalScheduleAdmin), {}))
