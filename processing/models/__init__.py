# One module per topic; import every model here so Django finds it.
from processing.models.providers import ProviderConfig, ProviderRateSlot, ProviderResult, ProviderUsage  # noqa: F401
from processing.models.jobs import PipelineJob  # noqa: F401
from processing.models.timings import StageTiming  # noqa: F401
