package pack

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them where it
// applies, with a prefix locating the pack and the member at fault.
var (
	// ErrInvalidManifest: pack.json is missing, malformed or inconsistent.
	ErrInvalidManifest = errors.New("invalid pack manifest")
	// ErrUnsafePath: a path in the manifest or the archive could escape the
	// pack (absolute, "..", backslash) or is otherwise not allowed.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrDigestMismatch: a file's content does not match its digest, or a
	// pack's digest differs from the one expected.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalidArchive: a pack file is truncated, corrupt, or holds
	// members a pack may not hold (links, devices, unlisted or oversized
	// files).
	ErrInvalidArchive = errors.New("invalid pack archive")
	// ErrUnsigned: a signature was required but the pack has none.
	ErrUnsigned = errors.New("pack is not signed")
	// ErrBadSignature: the pack's signature is malformed, was made by
	// another key, or does not match the pack digest.
	ErrBadSignature = errors.New("bad pack signature")
	// ErrLockMismatch: the lockfile pins the pack's name and version to
	// another digest.
	ErrLockMismatch = errors.New("pack does not match the lockfile")
	// ErrCapability: the pack declares a capability the user did not
	// grant.
	ErrCapability = errors.New("capability not granted")
	// ErrNoEnvironment: the pack has no environment of the name asked, or
	// several and none was named.
	ErrNoEnvironment = errors.New("no such environment in the pack")
)
