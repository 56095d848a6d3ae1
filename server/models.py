"""Every model, imported in one place so the metadata is complete
(Alembic, the sync registry and the tests rely on it)."""

import sync.changelog  # noqa: F401, E402  (installs the change-log session hooks)
from media.models import Blob, MediaTask, Photo, PhotoKind, Signature, SigningLink, Upload  # noqa: F401
from server.accounts.models import AuthToken, Device, LoginFailure, Role, User  # noqa: F401
from server.customers.models import Asset, Customer, ServiceContract, Site  # noqa: F401
from server.demo.models import DemoState  # noqa: F401
from server.dispatch.models import DispatchAction  # noqa: F401
from server.idempotency import IdempotencyKey  # noqa: F401
from server.jobs.models import (  # noqa: F401
    Adjustment,
    CheckIn,
    CheckInKind,
    CustomerRating,
    Job,
    JobStatus,
    PartUsage,
)
from server.notifications.models import Delivery, DeliveryAttempt, Notification, WebhookEndpoint  # noqa: F401
from server.quality.models import (  # noqa: F401
    Complaint,
    ComplaintStep,
    FollowUpTask,
    ReturnVisit,
    ReturnVisitCall,
    SurveyAnswer,
    SurveyCampaign,
    SurveyInvitation,
)
from server.quality.proactive_models import (  # noqa: F401
    AssetInspection,
    Incident,
    IncidentAffected,
    IncidentNotice,
    InspectionFinding,
    InspectionSchedule,
    Tour,
    TourStop,
)
from server.reports.models import JobExpense  # noqa: F401
from server.stock.models import (  # noqa: F401
    CountLine,
    CountSession,
    LocationKind,
    MovementKind,
    Part,
    PartFitment,
    PurchaseRequest,
    PurchaseRequestLine,
    Receipt,
    ReceiptLine,
    Reservation,
    ReservationStatus,
    SerialEvent,
    SerialItem,
    SpareUnit,
    SpareUnitStatus,
    StockDiscrepancy,
    StockLevel,
    StockLocation,
    StockMovement,
    Transfer,
    TransferLine,
)
from server.technicians.models import (  # noqa: F401
    Certification,
    OnCallPeriod,
    ShiftException,
    ShiftSlot,
    Technician,
)
from server.tickets.models import Ticket, TicketContact, TicketEvent, TicketPart  # noqa: F401
from sync.models import SyncChange, SyncConflict, SyncCounter, SyncOp, SyncScopeExit  # noqa: F401, E402
