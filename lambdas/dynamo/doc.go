// Package dynamo is the relay.Store on one DynamoDB table.
//
// # Table
//
// The schema is fixed, and the CDK stack creates the same table (CreateTable
// here is for tests and dev tooling): partition key pk (S), sort key sk (S),
// one global secondary index gsi1 on gsi1pk (S) / gsi1sk (S) projecting ALL
// attributes, TTL on ttl (Number, Unix seconds), on-demand billing.
//
// # Items
//
// Ids, phones and keys from callers are escaped in key attributes ('%' as
// %25, '#' as %23), so '#' only ever separates key parts and no tenant's id
// can spell a key of another tenant. Entities are stored whole as a JSON
// string in the attribute data; beside it sit the key attributes and the
// attributes that conditions and TTL read.
//
//	item        pk                   sk                 gsi1pk                                    gsi1sk    other attributes
//	tenant      TENANT#<tenant>      TENANT             TENANTS                                   <tenant>  data
//	number      NUMBER#<number>      NUMBER                                                                 tenant_id
//	operator    TENANT#<tenant>      OPERATOR#<id>      TENANT#<tenant>#OPERATOR_PHONE#<phone>    <id>      data
//	customer    TENANT#<tenant>      CUSTOMER#<id>      TENANT#<tenant>#CUSTOMER_PHONE#<phone>    <id>      data
//	job         TENANT#<tenant>      JOB#<id>           TENANT#<tenant>#CUSTOMER_JOBS#<customer>  <id>      data
//	opt-out     TENANT#<tenant>      OPTOUT#<phone>                                                         opted_out (BOOL), at (N, ns)
//	thread      TENANT#<tenant>      THREAD#<phone>                                                         relay_id, at (N, ns), ttl
//	relay       RELAY#<message sid>  RELAY                                                                  tenant_id, version (N), data, ttl
//	code lease  CODES#<tenant>#<op>  CODE#<code>                                                            relay_id, expires_at (N, ns), data, ttl
//	take        TAKE#<key>           WINDOW#<start ns>                                                      n (N), toks (L), ttl
//	sequence    SEQ#<tenant>#<name>  SEQUENCE                                                               n (N), tok (M: recent token → n)
//
// A tenant's directory entries and opt-outs share the partition TENANT#<tenant>,
// so an admin tool can list them with one Query; relays, leases and
// counters each get their own partition, so the hot write paths spread.
//
// # Access patterns
//
//   - Tenant, Operator, Customer, OptedOut, Relay: GetItem, strongly consistent.
//   - Tenants: Query gsi1 on gsi1pk = TENANTS.
//   - TenantByNumber: GetItem of the number item, then of the tenant, which
//     must still list the number (so a half-finished PutTenant never routes a
//     dropped number).
//   - OperatorByPhone, CustomerByPhone: Query gsi1 on the phone's gsi1pk; the
//     lowest id wins when several share a phone.
//   - JobsForCustomer: Query gsi1 on the customer's gsi1pk, sorted by id.
//   - ListOperators, ListCustomers, ListJobs: Query pk = TENANT#<tenant> AND
//     begins_with(sk, OPERATOR#|CUSTOMER#|JOB#), strongly consistent, the
//     cursor's id as ExclusiveStartKey; a phone or customer filter queries
//     gsi1 on that key instead. Job: GetItem.
//   - Codes: Query pk = CODES#<tenant>#<op>, strongly consistent.
//
// gsi1 is eventually consistent in DynamoDB: a phone or job change shows in
// the by-phone and by-customer lookups a moment after the put.
//
// # Writes
//
// Every write is one item with a ConditionExpression; there are no
// transactions (dynalite, the test stand-in, has none, and single-item
// writes are cheaper). A lost condition is a relay Conflict.
//
//   - PutTenant claims each number item with attribute_not_exists(pk) OR
//     tenant_id = :me; a number another tenant still lists is a Conflict and
//     nothing else is written. A number item whose owner no longer lists it is
//     taken over. Then the tenant item is put and the numbers it dropped are
//     deleted (conditional on still pointing to it).
//   - PutOperator, PutCustomer, PutJob: PutItem; the gsi1 keys follow the item.
//   - ReplaceTenant, ReplaceOperator, ReplaceCustomer, ReplaceJob (the
//     Directory API): GetItem, compare with the caller's previous value, then
//     PutItem with attribute_not_exists(pk) (create) or data = :raw, the
//     exact string read (replace), so a change in between is a Conflict.
//     DeleteOperator, DeleteCustomer, DeleteJob: DeleteItem with data = :raw;
//     the gsi1 index entries go with the item.
//   - CreateRelay: PutItem with attribute_not_exists(pk), the atomic claim of
//     the inbound MessageSid. UpdateRelay: PutItem with version = :read and
//     the version incremented; a failed condition is re-read to tell a
//     missing relay (NotFound) from a changed one (Conflict).
//   - ClaimCode: PutItem with attribute_not_exists(pk) OR expires_at <= :now
//     (:now is the new lease's CreatedAt). Leases are never deleted early; they
//     expire.
//   - Take: one item per key and fixed window; UpdateItem ADD n :1 returns
//     the count, so a new window starts from zero. The same update appends a
//     request token to the item's list toks, on the condition that the token
//     is not there yet: an SDK retry of an applied take fails that condition
//     and reads its own number, the token's place in the list.
//   - SetOptOut: PutItem with attribute_not_exists(pk) OR at <= :at, so a STOP
//     and START delivered out of order keep the later decision.
//
// # Expiry
//
// TTL is best-effort: DynamoDB deletes expired items up to days late and
// dynalite never does. Every decision that depends on expiry reads
// expires_at (claims, leases) or the window in the key (takes) instead of
// relying on the item being gone. Relays get ttl from Relay.ExpiresAt when
// it is set; leases keep a day past their expiry so that Codes still lists
// recently expired ones.
//
// # Errors
//
// ConditionalCheckFailedException is a relay Conflict; throttling, 5xx
// answers and network failures are Transient; a missing item is NotFound;
// anything else is Internal. Errors wrap the SDK's error with %w.
//
// # Permissions
//
// The store calls GetItem, PutItem, UpdateItem, DeleteItem and Query on the
// table, and Query on index/gsi1. CreateTable also calls CreateTable,
// DescribeTable, DescribeTimeToLive and UpdateTimeToLive; deployed code
// never needs those.
package dynamo
