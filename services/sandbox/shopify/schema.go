package shopify

// coreSDL is the subset of Shopify's Admin GraphQL schema the sandbox serves. Type, field, enum
// and argument names are Shopify's own, so a query written against the real API runs here
// unchanged as long as it stays inside this subset. Both the executor (graph-gophers) and the cost
// calculator (gqlparser) load this one text. The error codes of RefundUserError are the ones
// Shopify documents for mutations taking @idempotent, plus the generic ones the sandbox uses.
const coreSDL = `
schema {
  query: QueryRoot
  mutation: Mutation
}

"Makes a mutation idempotent: a retry with the same key returns the first request's result."
directive @idempotent(key: String!) on FIELD

"An ISO-8601 date and time string, for example 2026-01-05T10:00:00Z."
scalar DateTime
"A signed decimal number serialised as a string, for example \"29.99\"."
scalar Decimal

type QueryRoot {
  "Returns the app's most recent bulk operation of a type."
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
  "Returns an object by its global id (the sandbox resolves bulk operations)."
  node(id: ID!): Node
  "Returns the app's bulk operations meeting the filters (status, operation_type), newest first."
  bulkOperations(first: Int, after: String, last: Int, before: String, query: String, reverse: Boolean = false,
    sortKey: BulkOperationsSortKeys = CREATED_AT): BulkOperationConnection!
  "Returns an Order resource by ID."
  order(id: ID!): Order
  "Returns a list of orders placed in the store."
  orders(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
    sortKey: OrderSortKeys = ID, query: String): OrderConnection!
  "Returns the Shop resource corresponding to the access token used in the request."
  shop: Shop!
  "Returns a Return resource by ID."
  return(id: ID!): Return
  "Returns the shop's library of return reasons (from 2026-04, what return line items take)."
  returnReasonDefinitions(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
    handles: [String!]): ReturnReasonDefinitionConnection!
  "Returns a list of inventory items (query: sku:<sku>)."
  inventoryItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
    query: String): InventoryItemConnection!
}

"A product variant's stock-keeping record."
type InventoryItem {
  id: ID!
  sku: String
  tracked: Boolean!
  "The variants the item keeps stock for (one, unless a bundle shares it)."
  variants(first: Int, after: String, last: Int, before: String): ProductVariantConnection
  inventoryLevel(locationId: ID!): InventoryLevel
}

"A product's variant: what a line item buys."
type ProductVariant {
  id: ID!
  sku: String
}

type ProductVariantConnection {
  edges: [ProductVariantEdge!]!
  nodes: [ProductVariant!]!
  pageInfo: PageInfo!
}

type ProductVariantEdge {
  cursor: String!
  node: ProductVariant!
}

type InventoryItemConnection {
  edges: [InventoryItemEdge!]!
  nodes: [InventoryItem!]!
  pageInfo: PageInfo!
}

type InventoryItemEdge {
  cursor: String!
  node: InventoryItem!
}

"An inventory item's quantities at one location."
type InventoryLevel {
  id: ID!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}

type InventoryQuantity {
  id: ID!
  name: String!
  quantity: Int!
}

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  changeFromQuantity: Int
}

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

type InventoryAdjustmentGroup {
  id: ID!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  item: InventoryItem
  location: Location
}

type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}

enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE
  COMPARE_QUANTITY_REQUIRED
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  INVALID_INVENTORY_ITEM
  INVALID_LOCATION
  INVALID_NAME
  INVALID_QUANTITY_NEGATIVE
  INVALID_QUANTITY_TOO_HIGH
  INVALID_REASON
}

"A standardized reason for returning an item."
type ReturnReasonDefinition {
  id: ID!
  handle: String!
  name: String!
  deleted: Boolean!
}

type ReturnReasonDefinitionConnection {
  edges: [ReturnReasonDefinitionEdge!]!
  nodes: [ReturnReasonDefinition!]!
  pageInfo: PageInfo!
}

type ReturnReasonDefinitionEdge {
  cursor: String!
  node: ReturnReasonDefinition!
}

type Mutation {
  "Runs a query as a bulk operation; its result is a JSONL file at the operation's url."
  bulkOperationRunQuery(query: String!, groupObjects: Boolean! = false): BulkOperationRunQueryPayload
  "Creates a return in the OPEN state from fulfilled line items of an order."
  returnCreate(returnInput: ReturnInput!): ReturnCreatePayload
  "Indicates a return is complete."
  returnClose(id: ID!): ReturnClosePayload
  "Creates a refund for an order. From 2026-04 it must carry @idempotent."
  refundCreate(input: RefundInput!): RefundCreatePayload
  "Sets quantities of a name (the sandbox: available) with compare-and-set. From 2026-04 it must carry @idempotent."
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  "Creates a fulfillment with tracking for fulfillment order line items and notifies the customer."
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
}

input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  notifyCustomer: Boolean = false
  trackingInfo: FulfillmentTrackingInput
}

input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
  fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}

input FulfillmentOrderLineItemInput {
  id: ID!
  quantity: Int!
}

input FulfillmentTrackingInput {
  company: String
  number: String
}

type FulfillmentCreatePayload {
  fulfillment: Fulfillment
  userErrors: [UserError!]!
}

type FulfillmentTrackingInfo {
  company: String
  number: String
}

type FulfillmentOrderLineItemConnection {
  edges: [FulfillmentOrderLineItemEdge!]!
  nodes: [FulfillmentOrderLineItem!]!
  pageInfo: PageInfo!
}

type FulfillmentOrderLineItemEdge {
  cursor: String!
  node: FulfillmentOrderLineItem!
}

type FulfillmentOrderLineItem {
  id: ID!
  lineItem: LineItem!
  remainingQuantity: Int!
  totalQuantity: Int!
  sku: String
}

"A monetary value as a decimal string, for example \"29.99\"."
scalar Money

input ReturnInput {
  orderId: ID!
  returnLineItems: [ReturnLineItemInput!]!
  notifyCustomer: Boolean = false
  requestedAt: DateTime
}

input ReturnLineItemInput {
  fulfillmentLineItemId: ID!
  quantity: Int!
  returnReason: ReturnReason @deprecated(reason: "Use returnReasonDefinitionId instead.")
  returnReasonDefinitionId: ID
  returnReasonNote: String = ""
}

enum ReturnReason {
  COLOR
  DEFECTIVE
  NOT_AS_DESCRIBED
  OTHER
  SIZE_TOO_LARGE
  SIZE_TOO_SMALL
  STYLE
  UNKNOWN
  UNWANTED
  WRONG_ITEM
}

type ReturnCreatePayload {
  return: Return
  userErrors: [ReturnUserError!]!
}

type ReturnClosePayload {
  return: Return
  userErrors: [ReturnUserError!]!
}

type ReturnUserError {
  code: ReturnErrorCode
  field: [String!]
  message: String!
}

enum ReturnErrorCode {
  ALREADY_EXISTS
  BLANK
  GREATER_THAN
  INTERNAL_ERROR
  INVALID
  INVALID_STATE
  LESS_THAN
  NOT_FOUND
}

input RefundInput {
  orderId: ID!
  note: String
  notify: Boolean
  currency: CurrencyCode
  refundLineItems: [RefundLineItemInput!]
  transactions: [OrderTransactionInput!]
}

input RefundLineItemInput {
  lineItemId: ID!
  quantity: Int!
  restockType: RefundLineItemRestockType = RETURN
  locationId: ID
}

input OrderTransactionInput {
  amount: Money!
  gateway: String!
  kind: OrderTransactionKind!
  orderId: ID!
  parentId: ID
}

enum OrderTransactionKind {
  AUTHORIZATION
  CAPTURE
  CHANGE
  EMV_AUTHORIZATION
  REFUND
  SALE
  SUGGESTED_REFUND
  VOID
}

type RefundCreatePayload {
  order: Order
  refund: Refund
  userErrors: [UserError!]!
}

"A generic user error: unlike ReturnUserError it has no code."
type UserError {
  field: [String!]
  message: String!
}

enum OrderSortKeys {
  CREATED_AT
  ID
  ORDER_NUMBER
  PROCESSED_AT
  UPDATED_AT
  TOTAL_PRICE
}

enum CurrencyCode {
  AUD
  CAD
  EUR
  GBP
  JPY
  USD
}

enum CountryCode {
  AU
  CA
  DE
  FR
  GB
  US
}

enum OrderDisplayFinancialStatus {
  AUTHORIZED
  EXPIRED
  PAID
  PARTIALLY_PAID
  PARTIALLY_REFUNDED
  PENDING
  REFUNDED
  VOIDED
}

enum OrderDisplayFulfillmentStatus {
  FULFILLED
  IN_PROGRESS
  ON_HOLD
  OPEN
  PARTIALLY_FULFILLED
  PENDING_FULFILLMENT
  REQUEST_DECLINED
  RESTOCKED
  SCHEDULED
  UNFULFILLED
}

enum FulfillmentStatus {
  CANCELLED
  ERROR
  FAILURE
  OPEN
  PENDING
  SUCCESS
}

enum FulfillmentDisplayStatus {
  ATTEMPTED_DELIVERY
  CANCELED
  CONFIRMED
  DELIVERED
  FAILURE
  FULFILLED
  IN_TRANSIT
  LABEL_PRINTED
  LABEL_PURCHASED
  LABEL_VOIDED
  MARKED_AS_FULFILLED
  NOT_DELIVERED
  OUT_FOR_DELIVERY
  PICKED_UP
  READY_FOR_PICKUP
  SUBMITTED
}

enum FulfillmentOrderStatus {
  CANCELLED
  CLOSED
  INCOMPLETE
  IN_PROGRESS
  ON_HOLD
  OPEN
  SCHEDULED
}

enum DeliveryMethodType {
  LOCAL
  NONE
  PICK_UP
  PICKUP_POINT
  RETAIL
  SHIPPING
}

enum RefundLineItemRestockType {
  CANCEL
  LEGACY_RESTOCK
  NO_RESTOCK
  RETURN
}

enum ReturnStatus {
  CANCELED
  CLOSED
  DECLINED
  OPEN
  REQUESTED
}

type Shop {
  id: ID!
  name: String!
  myshopifyDomain: String!
  currencyCode: CurrencyCode!
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type MoneyV2 {
  amount: Decimal!
  currencyCode: CurrencyCode!
}

type MoneyBag {
  shopMoney: MoneyV2!
  presentmentMoney: MoneyV2!
}

type Customer {
  id: ID!
  email: String @deprecated(reason: "Use defaultEmailAddress.emailAddress instead.")
  defaultEmailAddress: CustomerEmailAddress
  firstName: String
  lastName: String
  displayName: String!
}

type CustomerEmailAddress {
  emailAddress: String!
}

type MailingAddress {
  id: ID!
  name: String
  firstName: String
  lastName: String
  address1: String
  address2: String
  city: String
  province: String
  provinceCode: String
  zip: String
  country: String
  countryCodeV2: CountryCode
  phone: String
}

type Location {
  id: ID!
  name: String!
  isActive: Boolean!
}

type OrderConnection {
  edges: [OrderEdge!]!
  nodes: [Order!]!
  pageInfo: PageInfo!
}

type OrderEdge {
  cursor: String!
  node: Order!
}

type Order {
  id: ID!
  name: String!
  email: String
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  cancelledAt: DateTime
  closedAt: DateTime
  sourceName: String
  currencyCode: CurrencyCode!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  customer: Customer
  totalPriceSet: MoneyBag!
  currentTotalPriceSet: MoneyBag!
  subtotalPriceSet: MoneyBag
  totalRefundedSet: MoneyBag!
  shippingAddress: MailingAddress
  lineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): LineItemConnection!
  fulfillments(first: Int): [Fulfillment!]!
  fulfillmentOrders(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
    displayable: Boolean = false): FulfillmentOrderConnection!
  refunds(first: Int): [Refund!]!
  returns(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): ReturnConnection!
  transactions(first: Int): [OrderTransaction!]!
}

type OrderTransaction {
  id: ID!
  kind: OrderTransactionKind!
  status: OrderTransactionStatus!
  gateway: String
  paymentId: String
  amountSet: MoneyBag!
}

enum OrderTransactionStatus {
  AWAITING_RESPONSE
  ERROR
  FAILURE
  PENDING
  SUCCESS
  UNKNOWN
}

type LineItemConnection {
  edges: [LineItemEdge!]!
  nodes: [LineItem!]!
  pageInfo: PageInfo!
}

type LineItemEdge {
  cursor: String!
  node: LineItem!
}

type LineItem {
  id: ID!
  sku: String
  title: String!
  name: String!
  quantity: Int!
  currentQuantity: Int!
  unfulfilledQuantity: Int!
  refundableQuantity: Int!
  isGiftCard: Boolean!
  requiresShipping: Boolean!
  originalUnitPriceSet: MoneyBag!
  discountedUnitPriceSet: MoneyBag!
  originalTotalSet: MoneyBag!
}

type Fulfillment {
  id: ID!
  name: String!
  status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus
  createdAt: DateTime!
  updatedAt: DateTime!
  inTransitAt: DateTime
  deliveredAt: DateTime
  estimatedDeliveryAt: DateTime
  location: Location
  fulfillmentLineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): FulfillmentLineItemConnection!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
}

type FulfillmentLineItemConnection {
  edges: [FulfillmentLineItemEdge!]!
  nodes: [FulfillmentLineItem!]!
  pageInfo: PageInfo!
}

type FulfillmentLineItemEdge {
  cursor: String!
  node: FulfillmentLineItem!
}

type FulfillmentLineItem {
  id: ID!
  lineItem: LineItem!
  quantity: Int
}

type FulfillmentOrderConnection {
  edges: [FulfillmentOrderEdge!]!
  nodes: [FulfillmentOrder!]!
  pageInfo: PageInfo!
}

type FulfillmentOrderEdge {
  cursor: String!
  node: FulfillmentOrder!
}

type FulfillmentOrder {
  id: ID!
  status: FulfillmentOrderStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  deliveryMethod: DeliveryMethod
  assignedLocation: FulfillmentOrderAssignedLocation!
  lineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): FulfillmentOrderLineItemConnection!
}

type DeliveryMethod {
  id: ID!
  methodType: DeliveryMethodType!
}

type FulfillmentOrderAssignedLocation {
  name: String!
  countryCode: CountryCode!
  location: Location
}

type Refund {
  id: ID!
  createdAt: DateTime
  note: String
  totalRefundedSet: MoneyBag!
  refundLineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): RefundLineItemConnection!
}

type RefundLineItemConnection {
  edges: [RefundLineItemEdge!]!
  nodes: [RefundLineItem!]!
  pageInfo: PageInfo!
}

type RefundLineItemEdge {
  cursor: String!
  node: RefundLineItem!
}

type RefundLineItem {
  id: ID
  lineItem: LineItem!
  quantity: Int!
  restockType: RefundLineItemRestockType!
  restocked: Boolean!
  priceSet: MoneyBag!
  subtotalSet: MoneyBag!
}

type ReturnConnection {
  edges: [ReturnEdge!]!
  nodes: [Return!]!
  pageInfo: PageInfo!
}

type ReturnEdge {
  cursor: String!
  node: Return!
}

type Return {
  id: ID!
  name: String!
  status: ReturnStatus!
  createdAt: DateTime!
  closedAt: DateTime
  totalQuantity: Int!
  returnLineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): ReturnLineItemTypeConnection!
}

"A return line item of any type."
interface ReturnLineItemType {
  id: ID!
  quantity: Int!
  customerNote: String
  returnReasonNote: String!
  refundableQuantity: Int!
  refundedQuantity: Int!
}

"A return line item backed by a fulfillment line item."
type ReturnLineItem implements ReturnLineItemType {
  id: ID!
  quantity: Int!
  customerNote: String
  returnReason: ReturnReason! @deprecated(reason: "Use returnReasonDefinition instead.")
  returnReasonDefinition: ReturnReasonDefinition
  returnReasonNote: String!
  refundableQuantity: Int!
  refundedQuantity: Int!
  fulfillmentLineItem: FulfillmentLineItem!
}

"A return line item not tied to a fulfillment line item (never emitted from the demo data)."
type UnverifiedReturnLineItem implements ReturnLineItemType {
  id: ID!
  quantity: Int!
  customerNote: String
  returnReasonNote: String!
  refundableQuantity: Int!
  refundedQuantity: Int!
  unitPrice: MoneyV2!
}

type ReturnLineItemTypeConnection {
  edges: [ReturnLineItemTypeEdge!]!
  nodes: [ReturnLineItemType!]!
  pageInfo: PageInfo!
}

type ReturnLineItemTypeEdge {
  cursor: String!
  node: ReturnLineItemType!
}
`
