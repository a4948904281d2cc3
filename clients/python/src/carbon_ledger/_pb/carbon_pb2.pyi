from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_REGULATOR: _ClassVar[Role]
    ROLE_ENTITY: _ClassVar[Role]
    ROLE_INVESTOR: _ClassVar[Role]
    ROLE_VERIFIER: _ClassVar[Role]
    ROLE_AUDITOR: _ClassVar[Role]

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_DAY: _ClassVar[TimeInForce]
    TIME_IN_FORCE_IOC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_FOK: _ClassVar[TimeInForce]

class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PHASE_UNSPECIFIED: _ClassVar[Phase]
    PHASE_PRE: _ClassVar[Phase]
    PHASE_FINAL: _ClassVar[Phase]

class UnitFuel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNIT_FUEL_UNSPECIFIED: _ClassVar[UnitFuel]
    UNIT_FUEL_COAL: _ClassVar[UnitFuel]
    UNIT_FUEL_GAS: _ClassVar[UnitFuel]
ROLE_UNSPECIFIED: Role
ROLE_OPERATOR: Role
ROLE_REGULATOR: Role
ROLE_ENTITY: Role
ROLE_INVESTOR: Role
ROLE_VERIFIER: Role
ROLE_AUDITOR: Role
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_MARKET: OrderType
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_DAY: TimeInForce
TIME_IN_FORCE_IOC: TimeInForce
TIME_IN_FORCE_FOK: TimeInForce
PHASE_UNSPECIFIED: Phase
PHASE_PRE: Phase
PHASE_FINAL: Phase
UNIT_FUEL_UNSPECIFIED: UnitFuel
UNIT_FUEL_COAL: UnitFuel
UNIT_FUEL_GAS: UnitFuel

class SignedCommand(_message.Message):
    __slots__ = ("payload", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signature: bytes
    def __init__(self, payload: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("actor", "nonce", "create_account", "define_instrument", "deposit", "withdraw", "issue", "transfer", "retire", "freeze", "unfreeze", "open_day", "close_day", "order", "cancel", "block_propose", "block_accept", "block_cancel", "auction_open", "auction_bid", "auction_close", "allocate_benchmark", "allocate_grandfather", "define_factor_set", "submit_report", "verify_report", "confirm_report", "return_report", "surrender", "close_year", "set_position_limits", "halt", "resume", "declare_group")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    DEFINE_INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAW_FIELD_NUMBER: _ClassVar[int]
    ISSUE_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    RETIRE_FIELD_NUMBER: _ClassVar[int]
    FREEZE_FIELD_NUMBER: _ClassVar[int]
    UNFREEZE_FIELD_NUMBER: _ClassVar[int]
    OPEN_DAY_FIELD_NUMBER: _ClassVar[int]
    CLOSE_DAY_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    BLOCK_PROPOSE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_ACCEPT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_CANCEL_FIELD_NUMBER: _ClassVar[int]
    AUCTION_OPEN_FIELD_NUMBER: _ClassVar[int]
    AUCTION_BID_FIELD_NUMBER: _ClassVar[int]
    AUCTION_CLOSE_FIELD_NUMBER: _ClassVar[int]
    ALLOCATE_BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    ALLOCATE_GRANDFATHER_FIELD_NUMBER: _ClassVar[int]
    DEFINE_FACTOR_SET_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_REPORT_FIELD_NUMBER: _ClassVar[int]
    VERIFY_REPORT_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_REPORT_FIELD_NUMBER: _ClassVar[int]
    RETURN_REPORT_FIELD_NUMBER: _ClassVar[int]
    SURRENDER_FIELD_NUMBER: _ClassVar[int]
    CLOSE_YEAR_FIELD_NUMBER: _ClassVar[int]
    SET_POSITION_LIMITS_FIELD_NUMBER: _ClassVar[int]
    HALT_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    DECLARE_GROUP_FIELD_NUMBER: _ClassVar[int]
    actor: str
    nonce: int
    create_account: CreateAccount
    define_instrument: DefineInstrument
    deposit: Deposit
    withdraw: Withdraw
    issue: Issue
    transfer: Transfer
    retire: Retire
    freeze: Freeze
    unfreeze: Unfreeze
    open_day: OpenDay
    close_day: CloseDay
    order: PlaceOrder
    cancel: CancelOrder
    block_propose: BlockPropose
    block_accept: BlockAccept
    block_cancel: BlockCancel
    auction_open: AuctionOpen
    auction_bid: AuctionBid
    auction_close: AuctionClose
    allocate_benchmark: AllocateBenchmark
    allocate_grandfather: AllocateGrandfather
    define_factor_set: DefineFactorSet
    submit_report: SubmitReport
    verify_report: VerifyReport
    confirm_report: ConfirmReport
    return_report: ReturnReport
    surrender: Surrender
    close_year: CloseYear
    set_position_limits: SetPositionLimits
    halt: Halt
    resume: Resume
    declare_group: DeclareGroup
    def __init__(self, actor: _Optional[str] = ..., nonce: _Optional[int] = ..., create_account: _Optional[_Union[CreateAccount, _Mapping]] = ..., define_instrument: _Optional[_Union[DefineInstrument, _Mapping]] = ..., deposit: _Optional[_Union[Deposit, _Mapping]] = ..., withdraw: _Optional[_Union[Withdraw, _Mapping]] = ..., issue: _Optional[_Union[Issue, _Mapping]] = ..., transfer: _Optional[_Union[Transfer, _Mapping]] = ..., retire: _Optional[_Union[Retire, _Mapping]] = ..., freeze: _Optional[_Union[Freeze, _Mapping]] = ..., unfreeze: _Optional[_Union[Unfreeze, _Mapping]] = ..., open_day: _Optional[_Union[OpenDay, _Mapping]] = ..., close_day: _Optional[_Union[CloseDay, _Mapping]] = ..., order: _Optional[_Union[PlaceOrder, _Mapping]] = ..., cancel: _Optional[_Union[CancelOrder, _Mapping]] = ..., block_propose: _Optional[_Union[BlockPropose, _Mapping]] = ..., block_accept: _Optional[_Union[BlockAccept, _Mapping]] = ..., block_cancel: _Optional[_Union[BlockCancel, _Mapping]] = ..., auction_open: _Optional[_Union[AuctionOpen, _Mapping]] = ..., auction_bid: _Optional[_Union[AuctionBid, _Mapping]] = ..., auction_close: _Optional[_Union[AuctionClose, _Mapping]] = ..., allocate_benchmark: _Optional[_Union[AllocateBenchmark, _Mapping]] = ..., allocate_grandfather: _Optional[_Union[AllocateGrandfather, _Mapping]] = ..., define_factor_set: _Optional[_Union[DefineFactorSet, _Mapping]] = ..., submit_report: _Optional[_Union[SubmitReport, _Mapping]] = ..., verify_report: _Optional[_Union[VerifyReport, _Mapping]] = ..., confirm_report: _Optional[_Union[ConfirmReport, _Mapping]] = ..., return_report: _Optional[_Union[ReturnReport, _Mapping]] = ..., surrender: _Optional[_Union[Surrender, _Mapping]] = ..., close_year: _Optional[_Union[CloseYear, _Mapping]] = ..., set_position_limits: _Optional[_Union[SetPositionLimits, _Mapping]] = ..., halt: _Optional[_Union[Halt, _Mapping]] = ..., resume: _Optional[_Union[Resume, _Mapping]] = ..., declare_group: _Optional[_Union[DeclareGroup, _Mapping]] = ...) -> None: ...

class CreateAccount(_message.Message):
    __slots__ = ("id", "role", "jurisdiction", "public_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: Role
    jurisdiction: str
    public_key: bytes
    def __init__(self, id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., jurisdiction: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class DefineInstrument(_message.Message):
    __slots__ = ("symbol", "reference_price")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_PRICE_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    reference_price: str
    def __init__(self, symbol: _Optional[str] = ..., reference_price: _Optional[str] = ...) -> None: ...

class Deposit(_message.Message):
    __slots__ = ("account", "amount")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    amount: str
    def __init__(self, account: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class Withdraw(_message.Message):
    __slots__ = ("account", "amount")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    amount: str
    def __init__(self, account: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class Issue(_message.Message):
    __slots__ = ("instrument", "to", "qty")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    to: str
    qty: int
    def __init__(self, instrument: _Optional[str] = ..., to: _Optional[str] = ..., qty: _Optional[int] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("instrument", "to", "qty")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    to: str
    qty: int
    def __init__(self, instrument: _Optional[str] = ..., to: _Optional[str] = ..., qty: _Optional[int] = ...) -> None: ...

class Retire(_message.Message):
    __slots__ = ("instrument", "qty", "beneficiary")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    BENEFICIARY_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    qty: int
    beneficiary: str
    def __init__(self, instrument: _Optional[str] = ..., qty: _Optional[int] = ..., beneficiary: _Optional[str] = ...) -> None: ...

class Freeze(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    def __init__(self, account: _Optional[str] = ...) -> None: ...

class Unfreeze(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    def __init__(self, account: _Optional[str] = ...) -> None: ...

class OpenDay(_message.Message):
    __slots__ = ("date",)
    DATE_FIELD_NUMBER: _ClassVar[int]
    date: str
    def __init__(self, date: _Optional[str] = ...) -> None: ...

class CloseDay(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PlaceOrder(_message.Message):
    __slots__ = ("id", "instrument", "side", "type", "tif", "price", "qty")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIF_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    id: str
    instrument: str
    side: Side
    type: OrderType
    tif: TimeInForce
    price: str
    qty: int
    def __init__(self, id: _Optional[str] = ..., instrument: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., type: _Optional[_Union[OrderType, str]] = ..., tif: _Optional[_Union[TimeInForce, str]] = ..., price: _Optional[str] = ..., qty: _Optional[int] = ...) -> None: ...

class CancelOrder(_message.Message):
    __slots__ = ("id", "account")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    account: str
    def __init__(self, id: _Optional[str] = ..., account: _Optional[str] = ...) -> None: ...

class BlockPropose(_message.Message):
    __slots__ = ("id", "instrument", "side", "counterparty", "qty", "price")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    id: str
    instrument: str
    side: Side
    counterparty: str
    qty: int
    price: str
    def __init__(self, id: _Optional[str] = ..., instrument: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., counterparty: _Optional[str] = ..., qty: _Optional[int] = ..., price: _Optional[str] = ...) -> None: ...

class BlockAccept(_message.Message):
    __slots__ = ("proposer", "id")
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    proposer: str
    id: str
    def __init__(self, proposer: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class BlockCancel(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class AuctionOpen(_message.Message):
    __slots__ = ("id", "instrument", "qty", "reserve_price")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    RESERVE_PRICE_FIELD_NUMBER: _ClassVar[int]
    id: str
    instrument: str
    qty: int
    reserve_price: str
    def __init__(self, id: _Optional[str] = ..., instrument: _Optional[str] = ..., qty: _Optional[int] = ..., reserve_price: _Optional[str] = ...) -> None: ...

class AuctionBid(_message.Message):
    __slots__ = ("auction", "id", "price", "qty")
    AUCTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    auction: str
    id: str
    price: str
    qty: int
    def __init__(self, auction: _Optional[str] = ..., id: _Optional[str] = ..., price: _Optional[str] = ..., qty: _Optional[int] = ...) -> None: ...

class AuctionClose(_message.Message):
    __slots__ = ("auction",)
    AUCTION_FIELD_NUMBER: _ClassVar[int]
    auction: str
    def __init__(self, auction: _Optional[str] = ...) -> None: ...

class GeneratingUnit(_message.Message):
    __slots__ = ("fuel", "power_mwh", "heat_gj", "power_benchmark", "heat_benchmark", "load_factor")
    FUEL_FIELD_NUMBER: _ClassVar[int]
    POWER_MWH_FIELD_NUMBER: _ClassVar[int]
    HEAT_GJ_FIELD_NUMBER: _ClassVar[int]
    POWER_BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    HEAT_BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    LOAD_FACTOR_FIELD_NUMBER: _ClassVar[int]
    fuel: UnitFuel
    power_mwh: str
    heat_gj: str
    power_benchmark: str
    heat_benchmark: str
    load_factor: str
    def __init__(self, fuel: _Optional[_Union[UnitFuel, str]] = ..., power_mwh: _Optional[str] = ..., heat_gj: _Optional[str] = ..., power_benchmark: _Optional[str] = ..., heat_benchmark: _Optional[str] = ..., load_factor: _Optional[str] = ...) -> None: ...

class AllocateBenchmark(_message.Message):
    __slots__ = ("entity", "year", "phase", "units")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    phase: Phase
    units: _containers.RepeatedCompositeFieldContainer[GeneratingUnit]
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ..., phase: _Optional[_Union[Phase, str]] = ..., units: _Optional[_Iterable[_Union[GeneratingUnit, _Mapping]]] = ...) -> None: ...

class AllocateGrandfather(_message.Message):
    __slots__ = ("entity", "year", "baseline", "decline")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    DECLINE_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    baseline: int
    decline: str
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ..., baseline: _Optional[int] = ..., decline: _Optional[str] = ...) -> None: ...

class FuelFactors(_message.Message):
    __slots__ = ("ncv_gj_per_unit", "carbon_tc_per_gj", "oxidation")
    NCV_GJ_PER_UNIT_FIELD_NUMBER: _ClassVar[int]
    CARBON_TC_PER_GJ_FIELD_NUMBER: _ClassVar[int]
    OXIDATION_FIELD_NUMBER: _ClassVar[int]
    ncv_gj_per_unit: str
    carbon_tc_per_gj: str
    oxidation: str
    def __init__(self, ncv_gj_per_unit: _Optional[str] = ..., carbon_tc_per_gj: _Optional[str] = ..., oxidation: _Optional[str] = ...) -> None: ...

class DefineFactorSet(_message.Message):
    __slots__ = ("id", "grid_tco2_per_mwh", "fuels")
    class FuelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FuelFactors
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FuelFactors, _Mapping]] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    GRID_TCO2_PER_MWH_FIELD_NUMBER: _ClassVar[int]
    FUELS_FIELD_NUMBER: _ClassVar[int]
    id: str
    grid_tco2_per_mwh: str
    fuels: _containers.MessageMap[str, FuelFactors]
    def __init__(self, id: _Optional[str] = ..., grid_tco2_per_mwh: _Optional[str] = ..., fuels: _Optional[_Mapping[str, FuelFactors]] = ...) -> None: ...

class EnergyUse(_message.Message):
    __slots__ = ("carrier", "qty")
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    carrier: str
    qty: str
    def __init__(self, carrier: _Optional[str] = ..., qty: _Optional[str] = ...) -> None: ...

class FuelUse(_message.Message):
    __slots__ = ("fuel", "consumption", "ncv", "carbon", "oxidation")
    FUEL_FIELD_NUMBER: _ClassVar[int]
    CONSUMPTION_FIELD_NUMBER: _ClassVar[int]
    NCV_FIELD_NUMBER: _ClassVar[int]
    CARBON_FIELD_NUMBER: _ClassVar[int]
    OXIDATION_FIELD_NUMBER: _ClassVar[int]
    fuel: str
    consumption: str
    ncv: str
    carbon: str
    oxidation: str
    def __init__(self, fuel: _Optional[str] = ..., consumption: _Optional[str] = ..., ncv: _Optional[str] = ..., carbon: _Optional[str] = ..., oxidation: _Optional[str] = ...) -> None: ...

class SubmitReport(_message.Message):
    __slots__ = ("year", "factor_set", "fuels", "electricity_mwh", "power_mwh", "heat_gj", "energy")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    FACTOR_SET_FIELD_NUMBER: _ClassVar[int]
    FUELS_FIELD_NUMBER: _ClassVar[int]
    ELECTRICITY_MWH_FIELD_NUMBER: _ClassVar[int]
    POWER_MWH_FIELD_NUMBER: _ClassVar[int]
    HEAT_GJ_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    year: int
    factor_set: str
    fuels: _containers.RepeatedCompositeFieldContainer[FuelUse]
    electricity_mwh: str
    power_mwh: str
    heat_gj: str
    energy: _containers.RepeatedCompositeFieldContainer[EnergyUse]
    def __init__(self, year: _Optional[int] = ..., factor_set: _Optional[str] = ..., fuels: _Optional[_Iterable[_Union[FuelUse, _Mapping]]] = ..., electricity_mwh: _Optional[str] = ..., power_mwh: _Optional[str] = ..., heat_gj: _Optional[str] = ..., energy: _Optional[_Iterable[_Union[EnergyUse, _Mapping]]] = ...) -> None: ...

class VerifyReport(_message.Message):
    __slots__ = ("entity", "year", "verified_emissions", "verified_energy")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_EMISSIONS_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_ENERGY_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    verified_emissions: int
    verified_energy: int
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ..., verified_emissions: _Optional[int] = ..., verified_energy: _Optional[int] = ...) -> None: ...

class ConfirmReport(_message.Message):
    __slots__ = ("entity", "year")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ...) -> None: ...

class ReturnReport(_message.Message):
    __slots__ = ("entity", "year")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ...) -> None: ...

class Surrender(_message.Message):
    __slots__ = ("year", "instrument", "qty")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    year: int
    instrument: str
    qty: int
    def __init__(self, year: _Optional[int] = ..., instrument: _Optional[str] = ..., qty: _Optional[int] = ...) -> None: ...

class CloseYear(_message.Message):
    __slots__ = ("year",)
    YEAR_FIELD_NUMBER: _ClassVar[int]
    year: int
    def __init__(self, year: _Optional[int] = ...) -> None: ...

class SetPositionLimits(_message.Message):
    __slots__ = ("entity_extra", "investor")
    ENTITY_EXTRA_FIELD_NUMBER: _ClassVar[int]
    INVESTOR_FIELD_NUMBER: _ClassVar[int]
    entity_extra: int
    investor: int
    def __init__(self, entity_extra: _Optional[int] = ..., investor: _Optional[int] = ...) -> None: ...

class Halt(_message.Message):
    __slots__ = ("instrument",)
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    def __init__(self, instrument: _Optional[str] = ...) -> None: ...

class Resume(_message.Message):
    __slots__ = ("instrument",)
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    def __init__(self, instrument: _Optional[str] = ...) -> None: ...

class DeclareGroup(_message.Message):
    __slots__ = ("id", "members")
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    id: str
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ...) -> None: ...

class GenesisRegulator(_message.Message):
    __slots__ = ("id", "jurisdiction", "public_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    jurisdiction: str
    public_key: bytes
    def __init__(self, id: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class Genesis(_message.Message):
    __slots__ = ("operator", "operator_public_key", "regulators", "origin")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    REGULATORS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    operator: str
    operator_public_key: bytes
    regulators: _containers.RepeatedCompositeFieldContainer[GenesisRegulator]
    origin: str
    def __init__(self, operator: _Optional[str] = ..., operator_public_key: _Optional[bytes] = ..., regulators: _Optional[_Iterable[_Union[GenesisRegulator, _Mapping]]] = ..., origin: _Optional[str] = ...) -> None: ...

class OrderResult(_message.Message):
    __slots__ = ("status", "filled")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    status: str
    filled: int
    def __init__(self, status: _Optional[str] = ..., filled: _Optional[int] = ...) -> None: ...

class Trade(_message.Message):
    __slots__ = ("date", "mode", "instrument", "price", "qty", "buyer", "buy_id", "seller", "sell_id")
    DATE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    BUY_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    SELL_ID_FIELD_NUMBER: _ClassVar[int]
    date: str
    mode: str
    instrument: str
    price: str
    qty: int
    buyer: str
    buy_id: str
    seller: str
    sell_id: str
    def __init__(self, date: _Optional[str] = ..., mode: _Optional[str] = ..., instrument: _Optional[str] = ..., price: _Optional[str] = ..., qty: _Optional[int] = ..., buyer: _Optional[str] = ..., buy_id: _Optional[str] = ..., seller: _Optional[str] = ..., sell_id: _Optional[str] = ...) -> None: ...

class DaySummary(_message.Message):
    __slots__ = ("date", "instrument", "reference", "open", "high", "low", "close", "volume", "turnover", "block_volume", "auction_volume")
    DATE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TURNOVER_FIELD_NUMBER: _ClassVar[int]
    BLOCK_VOLUME_FIELD_NUMBER: _ClassVar[int]
    AUCTION_VOLUME_FIELD_NUMBER: _ClassVar[int]
    date: str
    instrument: str
    reference: str
    open: str
    high: str
    low: str
    close: str
    volume: int
    turnover: str
    block_volume: int
    auction_volume: int
    def __init__(self, date: _Optional[str] = ..., instrument: _Optional[str] = ..., reference: _Optional[str] = ..., open: _Optional[str] = ..., high: _Optional[str] = ..., low: _Optional[str] = ..., close: _Optional[str] = ..., volume: _Optional[int] = ..., turnover: _Optional[str] = ..., block_volume: _Optional[int] = ..., auction_volume: _Optional[int] = ...) -> None: ...

class ComplianceRow(_message.Message):
    __slots__ = ("year", "entity", "status", "obligation", "surrendered", "shortfall", "penalty_min", "penalty_max", "energy_obligation", "energy_surrendered", "energy_shortfall", "energy_penalty_min", "energy_penalty_max")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OBLIGATION_FIELD_NUMBER: _ClassVar[int]
    SURRENDERED_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    PENALTY_MIN_FIELD_NUMBER: _ClassVar[int]
    PENALTY_MAX_FIELD_NUMBER: _ClassVar[int]
    ENERGY_OBLIGATION_FIELD_NUMBER: _ClassVar[int]
    ENERGY_SURRENDERED_FIELD_NUMBER: _ClassVar[int]
    ENERGY_SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    ENERGY_PENALTY_MIN_FIELD_NUMBER: _ClassVar[int]
    ENERGY_PENALTY_MAX_FIELD_NUMBER: _ClassVar[int]
    year: int
    entity: str
    status: str
    obligation: int
    surrendered: int
    shortfall: int
    penalty_min: str
    penalty_max: str
    energy_obligation: int
    energy_surrendered: int
    energy_shortfall: int
    energy_penalty_min: str
    energy_penalty_max: str
    def __init__(self, year: _Optional[int] = ..., entity: _Optional[str] = ..., status: _Optional[str] = ..., obligation: _Optional[int] = ..., surrendered: _Optional[int] = ..., shortfall: _Optional[int] = ..., penalty_min: _Optional[str] = ..., penalty_max: _Optional[str] = ..., energy_obligation: _Optional[int] = ..., energy_surrendered: _Optional[int] = ..., energy_shortfall: _Optional[int] = ..., energy_penalty_min: _Optional[str] = ..., energy_penalty_max: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("date", "related_trade", "price_move", "concentration", "cancel_ratio", "large_holder")
    DATE_FIELD_NUMBER: _ClassVar[int]
    RELATED_TRADE_FIELD_NUMBER: _ClassVar[int]
    PRICE_MOVE_FIELD_NUMBER: _ClassVar[int]
    CONCENTRATION_FIELD_NUMBER: _ClassVar[int]
    CANCEL_RATIO_FIELD_NUMBER: _ClassVar[int]
    LARGE_HOLDER_FIELD_NUMBER: _ClassVar[int]
    date: str
    related_trade: RelatedTradeAlert
    price_move: PriceMoveAlert
    concentration: ConcentrationAlert
    cancel_ratio: CancelRatioAlert
    large_holder: LargeHolderAlert
    def __init__(self, date: _Optional[str] = ..., related_trade: _Optional[_Union[RelatedTradeAlert, _Mapping]] = ..., price_move: _Optional[_Union[PriceMoveAlert, _Mapping]] = ..., concentration: _Optional[_Union[ConcentrationAlert, _Mapping]] = ..., cancel_ratio: _Optional[_Union[CancelRatioAlert, _Mapping]] = ..., large_holder: _Optional[_Union[LargeHolderAlert, _Mapping]] = ...) -> None: ...

class RelatedTradeAlert(_message.Message):
    __slots__ = ("group", "instrument", "mode", "price", "qty", "buyer", "seller")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    group: str
    instrument: str
    mode: str
    price: str
    qty: int
    buyer: str
    seller: str
    def __init__(self, group: _Optional[str] = ..., instrument: _Optional[str] = ..., mode: _Optional[str] = ..., price: _Optional[str] = ..., qty: _Optional[int] = ..., buyer: _Optional[str] = ..., seller: _Optional[str] = ...) -> None: ...

class PriceMoveAlert(_message.Message):
    __slots__ = ("instrument", "reference", "close")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    reference: str
    close: str
    def __init__(self, instrument: _Optional[str] = ..., reference: _Optional[str] = ..., close: _Optional[str] = ...) -> None: ...

class ConcentrationAlert(_message.Message):
    __slots__ = ("instrument", "account", "side", "qty", "volume")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    account: str
    side: str
    qty: int
    volume: int
    def __init__(self, instrument: _Optional[str] = ..., account: _Optional[str] = ..., side: _Optional[str] = ..., qty: _Optional[int] = ..., volume: _Optional[int] = ...) -> None: ...

class CancelRatioAlert(_message.Message):
    __slots__ = ("instrument", "account", "placed", "cancelled")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PLACED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    account: str
    placed: int
    cancelled: int
    def __init__(self, instrument: _Optional[str] = ..., account: _Optional[str] = ..., placed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class LargeHolderAlert(_message.Message):
    __slots__ = ("account", "position", "threshold")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    account: str
    position: int
    threshold: int
    def __init__(self, account: _Optional[str] = ..., position: _Optional[int] = ..., threshold: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("trade", "day", "compliance", "alert")
    TRADE_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    trade: Trade
    day: DaySummary
    compliance: ComplianceRow
    alert: Alert
    def __init__(self, trade: _Optional[_Union[Trade, _Mapping]] = ..., day: _Optional[_Union[DaySummary, _Mapping]] = ..., compliance: _Optional[_Union[ComplianceRow, _Mapping]] = ..., alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class Outcome(_message.Message):
    __slots__ = ("ok", "code", "order", "events")
    OK_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    code: str
    order: OrderResult
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, ok: _Optional[bool] = ..., code: _Optional[str] = ..., order: _Optional[_Union[OrderResult, _Mapping]] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class StateDigest(_message.Message):
    __slots__ = ("tree_size", "sha256", "code_id")
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CODE_ID_FIELD_NUMBER: _ClassVar[int]
    tree_size: int
    sha256: bytes
    code_id: bytes
    def __init__(self, tree_size: _Optional[int] = ..., sha256: _Optional[bytes] = ..., code_id: _Optional[bytes] = ...) -> None: ...

class SnapshotMark(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JournalEntry(_message.Message):
    __slots__ = ("seq", "prev_hash", "genesis", "command", "state_digest", "snapshot_mark", "outcome")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    GENESIS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    STATE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_MARK_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    seq: int
    prev_hash: bytes
    genesis: Genesis
    command: SignedCommand
    state_digest: StateDigest
    snapshot_mark: SnapshotMark
    outcome: Outcome
    def __init__(self, seq: _Optional[int] = ..., prev_hash: _Optional[bytes] = ..., genesis: _Optional[_Union[Genesis, _Mapping]] = ..., command: _Optional[_Union[SignedCommand, _Mapping]] = ..., state_digest: _Optional[_Union[StateDigest, _Mapping]] = ..., snapshot_mark: _Optional[_Union[SnapshotMark, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, _Mapping]] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CommandResult(_message.Message):
    __slots__ = ("seq", "outcome")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    seq: int
    outcome: Outcome
    def __init__(self, seq: _Optional[int] = ..., outcome: _Optional[_Union[Outcome, _Mapping]] = ...) -> None: ...

class SubmitBatchRequest(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[SignedCommand]
    def __init__(self, commands: _Optional[_Iterable[_Union[SignedCommand, _Mapping]]] = ...) -> None: ...

class SubmitBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CommandResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CommandResult, _Mapping]]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("instrument", "available", "locked", "pending")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    available: int
    locked: int
    pending: int
    def __init__(self, instrument: _Optional[str] = ..., available: _Optional[int] = ..., locked: _Optional[int] = ..., pending: _Optional[int] = ...) -> None: ...

class AccountView(_message.Message):
    __slots__ = ("id", "role", "jurisdiction", "frozen", "cash_available", "cash_locked", "holdings", "public_key", "last_nonce")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    CASH_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CASH_LOCKED_FIELD_NUMBER: _ClassVar[int]
    HOLDINGS_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    LAST_NONCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: Role
    jurisdiction: str
    frozen: bool
    cash_available: str
    cash_locked: str
    holdings: _containers.RepeatedCompositeFieldContainer[Balance]
    public_key: bytes
    last_nonce: int
    def __init__(self, id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., jurisdiction: _Optional[str] = ..., frozen: _Optional[bool] = ..., cash_available: _Optional[str] = ..., cash_locked: _Optional[str] = ..., holdings: _Optional[_Iterable[_Union[Balance, _Mapping]]] = ..., public_key: _Optional[bytes] = ..., last_nonce: _Optional[int] = ...) -> None: ...

class GetSupplyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Supply(_message.Message):
    __slots__ = ("instrument", "issued", "surrendered", "retired", "clawed_back", "outstanding")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    SURRENDERED_FIELD_NUMBER: _ClassVar[int]
    RETIRED_FIELD_NUMBER: _ClassVar[int]
    CLAWED_BACK_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    issued: int
    surrendered: int
    retired: int
    clawed_back: int
    outstanding: int
    def __init__(self, instrument: _Optional[str] = ..., issued: _Optional[int] = ..., surrendered: _Optional[int] = ..., retired: _Optional[int] = ..., clawed_back: _Optional[int] = ..., outstanding: _Optional[int] = ...) -> None: ...

class SupplyView(_message.Message):
    __slots__ = ("supply",)
    SUPPLY_FIELD_NUMBER: _ClassVar[int]
    supply: _containers.RepeatedCompositeFieldContainer[Supply]
    def __init__(self, supply: _Optional[_Iterable[_Union[Supply, _Mapping]]] = ...) -> None: ...

class ListInstrumentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InstrumentView(_message.Message):
    __slots__ = ("symbol", "reference_price")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_PRICE_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    reference_price: str
    def __init__(self, symbol: _Optional[str] = ..., reference_price: _Optional[str] = ...) -> None: ...

class InstrumentList(_message.Message):
    __slots__ = ("instruments",)
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    instruments: _containers.RepeatedCompositeFieldContainer[InstrumentView]
    def __init__(self, instruments: _Optional[_Iterable[_Union[InstrumentView, _Mapping]]] = ...) -> None: ...

class StreamJournalRequest(_message.Message):
    __slots__ = ("from_seq",)
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    from_seq: int
    def __init__(self, from_seq: _Optional[int] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("text", "tree_size", "root_hash", "ledger_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    tree_size: int
    root_hash: bytes
    ledger_id: bytes
    def __init__(self, text: _Optional[str] = ..., tree_size: _Optional[int] = ..., root_hash: _Optional[bytes] = ..., ledger_id: _Optional[bytes] = ...) -> None: ...

class LookupCommandRequest(_message.Message):
    __slots__ = ("actor", "nonce")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    actor: str
    nonce: int
    def __init__(self, actor: _Optional[str] = ..., nonce: _Optional[int] = ...) -> None: ...

class LookupCommandResponse(_message.Message):
    __slots__ = ("seq", "command", "outcome")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    seq: int
    command: SignedCommand
    outcome: Outcome
    def __init__(self, seq: _Optional[int] = ..., command: _Optional[_Union[SignedCommand, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, _Mapping]] = ...) -> None: ...

class InclusionProofRequest(_message.Message):
    __slots__ = ("seq", "tree_size")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    tree_size: int
    def __init__(self, seq: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("seq", "tree_size", "entry", "leaf_hash", "path", "root_hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    tree_size: int
    entry: bytes
    leaf_hash: bytes
    path: _containers.RepeatedScalarFieldContainer[bytes]
    root_hash: bytes
    def __init__(self, seq: _Optional[int] = ..., tree_size: _Optional[int] = ..., entry: _Optional[bytes] = ..., leaf_hash: _Optional[bytes] = ..., path: _Optional[_Iterable[bytes]] = ..., root_hash: _Optional[bytes] = ...) -> None: ...

class ConsistencyProofRequest(_message.Message):
    __slots__ = ("from_size", "to_size")
    FROM_SIZE_FIELD_NUMBER: _ClassVar[int]
    TO_SIZE_FIELD_NUMBER: _ClassVar[int]
    from_size: int
    to_size: int
    def __init__(self, from_size: _Optional[int] = ..., to_size: _Optional[int] = ...) -> None: ...

class ConsistencyProof(_message.Message):
    __slots__ = ("from_size", "to_size", "from_root", "to_root", "proof")
    FROM_SIZE_FIELD_NUMBER: _ClassVar[int]
    TO_SIZE_FIELD_NUMBER: _ClassVar[int]
    FROM_ROOT_FIELD_NUMBER: _ClassVar[int]
    TO_ROOT_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    from_size: int
    to_size: int
    from_root: bytes
    to_root: bytes
    proof: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, from_size: _Optional[int] = ..., to_size: _Optional[int] = ..., from_root: _Optional[bytes] = ..., to_root: _Optional[bytes] = ..., proof: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("entity", "year")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ...) -> None: ...

class ReportView(_message.Message):
    __slots__ = ("entity", "year", "status", "direct", "indirect", "verified", "history", "energy", "verified_energy")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DIRECT_FIELD_NUMBER: _ClassVar[int]
    INDIRECT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_ENERGY_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    status: str
    direct: int
    indirect: int
    verified: int
    history: _containers.RepeatedScalarFieldContainer[str]
    energy: int
    verified_energy: int
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ..., status: _Optional[str] = ..., direct: _Optional[int] = ..., indirect: _Optional[int] = ..., verified: _Optional[int] = ..., history: _Optional[_Iterable[str]] = ..., energy: _Optional[int] = ..., verified_energy: _Optional[int] = ...) -> None: ...

class ListAllocationsRequest(_message.Message):
    __slots__ = ("year",)
    YEAR_FIELD_NUMBER: _ClassVar[int]
    year: int
    def __init__(self, year: _Optional[int] = ...) -> None: ...

class AllocationView(_message.Message):
    __slots__ = ("entity", "year", "method", "pre", "final", "issued", "deducted", "clawed_back")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PRE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    DEDUCTED_FIELD_NUMBER: _ClassVar[int]
    CLAWED_BACK_FIELD_NUMBER: _ClassVar[int]
    entity: str
    year: int
    method: str
    pre: int
    final: int
    issued: int
    deducted: int
    clawed_back: int
    def __init__(self, entity: _Optional[str] = ..., year: _Optional[int] = ..., method: _Optional[str] = ..., pre: _Optional[int] = ..., final: _Optional[int] = ..., issued: _Optional[int] = ..., deducted: _Optional[int] = ..., clawed_back: _Optional[int] = ...) -> None: ...

class AllocationList(_message.Message):
    __slots__ = ("allocations",)
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[AllocationView]
    def __init__(self, allocations: _Optional[_Iterable[_Union[AllocationView, _Mapping]]] = ...) -> None: ...

class ComplianceTableRequest(_message.Message):
    __slots__ = ("year", "jurisdiction")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    year: int
    jurisdiction: str
    def __init__(self, year: _Optional[int] = ..., jurisdiction: _Optional[str] = ...) -> None: ...

class ComplianceLine(_message.Message):
    __slots__ = ("jurisdiction", "row")
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    jurisdiction: str
    row: ComplianceRow
    def __init__(self, jurisdiction: _Optional[str] = ..., row: _Optional[_Union[ComplianceRow, _Mapping]] = ...) -> None: ...

class ComplianceTable(_message.Message):
    __slots__ = ("year", "lines")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    year: int
    lines: _containers.RepeatedCompositeFieldContainer[ComplianceLine]
    def __init__(self, year: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[ComplianceLine, _Mapping]]] = ...) -> None: ...

class GetBookRequest(_message.Message):
    __slots__ = ("instrument", "depth")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    depth: int
    def __init__(self, instrument: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class Level(_message.Message):
    __slots__ = ("price", "qty", "orders")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    price: str
    qty: int
    orders: int
    def __init__(self, price: _Optional[str] = ..., qty: _Optional[int] = ..., orders: _Optional[int] = ...) -> None: ...

class BookView(_message.Message):
    __slots__ = ("instrument", "bids", "asks", "reference", "band_low", "band_high", "day_open", "date", "halted")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    BAND_LOW_FIELD_NUMBER: _ClassVar[int]
    BAND_HIGH_FIELD_NUMBER: _ClassVar[int]
    DAY_OPEN_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    HALTED_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    bids: _containers.RepeatedCompositeFieldContainer[Level]
    asks: _containers.RepeatedCompositeFieldContainer[Level]
    reference: str
    band_low: str
    band_high: str
    day_open: bool
    date: str
    halted: bool
    def __init__(self, instrument: _Optional[str] = ..., bids: _Optional[_Iterable[_Union[Level, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Level, _Mapping]]] = ..., reference: _Optional[str] = ..., band_low: _Optional[str] = ..., band_high: _Optional[str] = ..., day_open: _Optional[bool] = ..., date: _Optional[str] = ..., halted: _Optional[bool] = ...) -> None: ...

class ListTradesRequest(_message.Message):
    __slots__ = ("date", "instrument", "page_token", "limit")
    DATE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    date: str
    instrument: str
    page_token: str
    limit: int
    def __init__(self, date: _Optional[str] = ..., instrument: _Optional[str] = ..., page_token: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class TradeList(_message.Message):
    __slots__ = ("date", "trades", "next_page_token")
    DATE_FIELD_NUMBER: _ClassVar[int]
    TRADES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    date: str
    trades: _containers.RepeatedCompositeFieldContainer[Trade]
    next_page_token: str
    def __init__(self, date: _Optional[str] = ..., trades: _Optional[_Iterable[_Union[Trade, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class OpenOrdersRequest(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    def __init__(self, account: _Optional[str] = ...) -> None: ...

class ExecutionsRequest(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    def __init__(self, account: _Optional[str] = ...) -> None: ...

class OpenOrder(_message.Message):
    __slots__ = ("id", "instrument", "side", "price", "remaining")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    id: str
    instrument: str
    side: str
    price: str
    remaining: int
    def __init__(self, id: _Optional[str] = ..., instrument: _Optional[str] = ..., side: _Optional[str] = ..., price: _Optional[str] = ..., remaining: _Optional[int] = ...) -> None: ...

class OpenOrders(_message.Message):
    __slots__ = ("account", "orders")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    account: str
    orders: _containers.RepeatedCompositeFieldContainer[OpenOrder]
    def __init__(self, account: _Optional[str] = ..., orders: _Optional[_Iterable[_Union[OpenOrder, _Mapping]]] = ...) -> None: ...

class MarketDataRequest(_message.Message):
    __slots__ = ("instrument", "depth")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    depth: int
    def __init__(self, instrument: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class MarketDataUpdate(_message.Message):
    __slots__ = ("seq", "trade", "book", "day")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    BOOK_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    seq: int
    trade: Trade
    book: BookView
    day: DaySummary
    def __init__(self, seq: _Optional[int] = ..., trade: _Optional[_Union[Trade, _Mapping]] = ..., book: _Optional[_Union[BookView, _Mapping]] = ..., day: _Optional[_Union[DaySummary, _Mapping]] = ...) -> None: ...

class ExecutionUpdate(_message.Message):
    __slots__ = ("seq", "ack", "trade", "day_closed")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    DAY_CLOSED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    ack: CommandAck
    trade: Trade
    day_closed: DaySummary
    def __init__(self, seq: _Optional[int] = ..., ack: _Optional[_Union[CommandAck, _Mapping]] = ..., trade: _Optional[_Union[Trade, _Mapping]] = ..., day_closed: _Optional[_Union[DaySummary, _Mapping]] = ...) -> None: ...

class CommandAck(_message.Message):
    __slots__ = ("command", "id", "outcome")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    command: str
    id: str
    outcome: Outcome
    def __init__(self, command: _Optional[str] = ..., id: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, _Mapping]] = ...) -> None: ...

class AlertQuery(_message.Message):
    __slots__ = ("from_date", "to_date", "kind", "account", "limit")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    from_date: str
    to_date: str
    kind: str
    account: str
    limit: int
    def __init__(self, from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., kind: _Optional[str] = ..., account: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class JournalAlert(_message.Message):
    __slots__ = ("seq", "alert")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    alert: Alert
    def __init__(self, seq: _Optional[int] = ..., alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class AlertList(_message.Message):
    __slots__ = ("alerts", "truncated")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[JournalAlert]
    truncated: bool
    def __init__(self, alerts: _Optional[_Iterable[_Union[JournalAlert, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class AlertStreamRequest(_message.Message):
    __slots__ = ("from_seq", "kind", "account")
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    from_seq: int
    kind: str
    account: str
    def __init__(self, from_seq: _Optional[int] = ..., kind: _Optional[str] = ..., account: _Optional[str] = ...) -> None: ...

class PositionRequest(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    def __init__(self, account: _Optional[str] = ...) -> None: ...

class PositionView(_message.Message):
    __slots__ = ("account", "jurisdiction", "role", "position", "exposure", "quota", "limit", "threshold", "group")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    account: str
    jurisdiction: str
    role: Role
    position: int
    exposure: int
    quota: int
    limit: int
    threshold: int
    group: str
    def __init__(self, account: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., position: _Optional[int] = ..., exposure: _Optional[int] = ..., quota: _Optional[int] = ..., limit: _Optional[int] = ..., threshold: _Optional[int] = ..., group: _Optional[str] = ...) -> None: ...

class LargeHoldersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LargeHolderList(_message.Message):
    __slots__ = ("holders",)
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    holders: _containers.RepeatedCompositeFieldContainer[PositionView]
    def __init__(self, holders: _Optional[_Iterable[_Union[PositionView, _Mapping]]] = ...) -> None: ...

class GetSupervisionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Group(_message.Message):
    __slots__ = ("id", "members")
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    id: str
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ...) -> None: ...

class SupervisionView(_message.Message):
    __slots__ = ("entity_extra", "investor", "halted", "groups")
    ENTITY_EXTRA_FIELD_NUMBER: _ClassVar[int]
    INVESTOR_FIELD_NUMBER: _ClassVar[int]
    HALTED_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    entity_extra: int
    investor: int
    halted: _containers.RepeatedScalarFieldContainer[str]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, entity_extra: _Optional[int] = ..., investor: _Optional[int] = ..., halted: _Optional[_Iterable[str]] = ..., groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...
