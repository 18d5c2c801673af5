// Package api holds the Microsoft Graph and identity-platform wire types
// the o365 side uses: JSON shapes only, no logic.
package api

import "encoding/json"

// UIDPropertyID is the single-value extended property that keeps the
// vCard UID of a contact on the Office 365 side. The GUID is this
// project's own, fixed forever.
const UIDPropertyID = "String {5c2f8a1e-7b3d-4e69-9a40-c6d2b1e8f307} Name cardbridgeUid"

// FormatPropertyID is the single-value extended property that keeps the
// vCard spelling of the fields Office 365 holds in a plainer form (TYPE
// parameters, item groups, split street parts), so that a round trip
// through Office 365 gives the same vCard (see side/o365/mapping.go).
const FormatPropertyID = "String {5c2f8a1e-7b3d-4e69-9a40-c6d2b1e8f307} Name cardbridgeFormat"

// ExpandProperties is the $expand value that reads both extended
// properties cardbridge keeps on a contact.
const ExpandProperties = "singleValueExtendedProperties($filter=id eq '" + UIDPropertyID + "' or id eq '" + FormatPropertyID + "')"

// EmailAddress is one of a contact's (at most 3) e-mail addresses.
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// PhysicalAddress is a contact's home, business or other address.
type PhysicalAddress struct {
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
}

// IsZero reports whether no field is set (Graph returns {} for none).
func (a *PhysicalAddress) IsZero() bool { return a == nil || *a == PhysicalAddress{} }

// ExtendedProperty is a single-value extended property.
type ExtendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// Contact is the Graph v1.0 contact resource. Pointer strings distinguish
// "unset" (null) from "empty" where Graph does; arrays are nil when unset.
type Contact struct {
	ODataEtag string `json:"@odata.etag,omitempty"`
	ID        string `json:"id,omitempty"`
	// Removed is set on delta entries of deleted items.
	Removed *Removed `json:"@removed,omitempty"`

	AssistantName    *string `json:"assistantName,omitempty"`
	BusinessHomePage *string `json:"businessHomePage,omitempty"`
	ChangeKey        string  `json:"changeKey,omitempty"`
	CompanyName      *string `json:"companyName,omitempty"`
	Department       *string `json:"department,omitempty"`
	DisplayName      *string `json:"displayName,omitempty"`
	FileAs           *string `json:"fileAs,omitempty"`
	Generation       *string `json:"generation,omitempty"`
	GivenName        *string `json:"givenName,omitempty"`
	Initials         *string `json:"initials,omitempty"`
	JobTitle         *string `json:"jobTitle,omitempty"`
	Manager          *string `json:"manager,omitempty"`
	MiddleName       *string `json:"middleName,omitempty"`
	MobilePhone      *string `json:"mobilePhone,omitempty"`
	NickName         *string `json:"nickName,omitempty"`
	OfficeLocation   *string `json:"officeLocation,omitempty"`
	ParentFolderID   string  `json:"parentFolderId,omitempty"`
	PersonalNotes    *string `json:"personalNotes,omitempty"`
	Profession       *string `json:"profession,omitempty"`
	SpouseName       *string `json:"spouseName,omitempty"`
	Surname          *string `json:"surname,omitempty"`
	Title            *string `json:"title,omitempty"`
	YomiCompanyName  *string `json:"yomiCompanyName,omitempty"`
	YomiGivenName    *string `json:"yomiGivenName,omitempty"`
	YomiSurname      *string `json:"yomiSurname,omitempty"`

	BusinessPhones []string       `json:"businessPhones,omitempty"`
	HomePhones     []string       `json:"homePhones,omitempty"`
	Categories     []string       `json:"categories,omitempty"`
	Children       []string       `json:"children,omitempty"`
	ImAddresses    []string       `json:"imAddresses,omitempty"`
	EmailAddresses []EmailAddress `json:"emailAddresses,omitempty"`

	HomeAddress     *PhysicalAddress `json:"homeAddress,omitempty"`
	BusinessAddress *PhysicalAddress `json:"businessAddress,omitempty"`
	OtherAddress    *PhysicalAddress `json:"otherAddress,omitempty"`

	// Birthday is ISO 8601: "1974-07-22" or "1974-07-22T00:00:00Z".
	Birthday             *string `json:"birthday,omitempty"`
	CreatedDateTime      string  `json:"createdDateTime,omitempty"`
	LastModifiedDateTime string  `json:"lastModifiedDateTime,omitempty"`

	SingleValueExtendedProperties []ExtendedProperty `json:"singleValueExtendedProperties,omitempty"`
}

// Removed marks a delta entry for an item gone from the folder.
type Removed struct {
	Reason string `json:"reason"` // "deleted" or "changed"
}

// ContactFolder is a contact folder.
type ContactFolder struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	ParentFolderID string `json:"parentFolderId,omitempty"`
}

// Page is one page of a collection or a delta round.
type Page struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink,omitempty"`
	DeltaLink string            `json:"@odata.deltaLink,omitempty"`
}

// BatchRequest is one request of a JSON batch.
type BatchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"` // relative to the version root: "/me/contacts"
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// Batch is the body of POST /$batch (at most MaxBatch requests).
type Batch struct {
	Requests []BatchRequest `json:"requests"`
}

// MaxBatch is the most requests one JSON batch may hold.
const MaxBatch = 20

// BatchResponse is one response of a JSON batch. Body is JSON, or a JSON
// string holding base64 for binary bodies (photos).
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// BatchResult is the body of a batch's answer (responses in any order).
type BatchResult struct {
	Responses []BatchResponse `json:"responses"`
}

// ErrorBody is Graph's error envelope.
type ErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			RequestID string `json:"request-id,omitempty"`
			Date      string `json:"date,omitempty"`
		} `json:"innerError,omitempty"`
	} `json:"error"`
}

// TokenResponse is the identity platform's token endpoint answer.
type TokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// TokenError is the identity platform's error answer.
type TokenError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes,omitempty"`
	Timestamp        string `json:"timestamp,omitempty"`
	TraceID          string `json:"trace_id,omitempty"`
	CorrelationID    string `json:"correlation_id,omitempty"`
}

// DeviceCode is the answer of the devicecode endpoint.
type DeviceCode struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	// VerificationURL is the older spelling some answers use.
	VerificationURL string `json:"verification_url,omitempty"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// User is the part of /me or /users/{id} cardbridge reads.
type User struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// DirectoryUser is a user of /users, /users/delta and group members. In a
// delta round after the first, an updated user carries its id and only
// the properties that changed: a nil field is "not sent or null", so
// merge what is present into what is kept, never overwrite with nil.
type DirectoryUser struct {
	ID string `json:"id"`
	// Removed is set on delta entries of users gone from the directory:
	// reason "changed" (soft-deleted, restorable for 30 days) or "deleted".
	Removed *Removed `json:"@removed,omitempty"`

	UserPrincipalName *string  `json:"userPrincipalName,omitempty"`
	DisplayName       *string  `json:"displayName,omitempty"`
	GivenName         *string  `json:"givenName,omitempty"`
	Surname           *string  `json:"surname,omitempty"`
	Mail              *string  `json:"mail,omitempty"`
	OtherMails        []string `json:"otherMails,omitempty"`
	ProxyAddresses    []string `json:"proxyAddresses,omitempty"`
	BusinessPhones    []string `json:"businessPhones,omitempty"`
	MobilePhone       *string  `json:"mobilePhone,omitempty"`
	JobTitle          *string  `json:"jobTitle,omitempty"`
	Department        *string  `json:"department,omitempty"`
	OfficeLocation    *string  `json:"officeLocation,omitempty"`
	CompanyName       *string  `json:"companyName,omitempty"`
	AccountEnabled    *bool    `json:"accountEnabled,omitempty"`
	// UserType is "Member" or "Guest".
	UserType *string `json:"userType,omitempty"`

	// ManagerDelta is the manager with $expand=manager in users delta:
	// one object with the manager's id, or empty when the manager was
	// removed; absent when it did not change.
	ManagerDelta []DirectoryObject `json:"manager@delta,omitempty"`
}

// DirectoryObject is a reference to a directory object (a manager, a
// group member).
type DirectoryObject struct {
	ODataType string   `json:"@odata.type,omitempty"`
	ID        string   `json:"id"`
	Removed   *Removed `json:"@removed,omitempty"`
}

// UserDirectorySelect is the $select of users delta that reads what a
// directory address book needs.
const UserDirectorySelect = "id,userPrincipalName,displayName,givenName,surname,mail,otherMails,businessPhones,mobilePhone,jobTitle,department,officeLocation,companyName,accountEnabled,userType"

// IDTokenClaims are the claims of an identity-platform v2.0 ID token that
// identify a person: tenant id + object id (never preferred_username,
// which can change).
type IDTokenClaims struct {
	Issuer            string `json:"iss"`
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	Subject           string `json:"sub"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Email             string `json:"email,omitempty"`
	Nonce             string `json:"nonce,omitempty"`
}
