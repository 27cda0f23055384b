package sdk

import (
	"context"
	"fmt"
	"net/http"
)

// maxSessionPages bounds the pages Sessions reads (a user has at most 50 live sessions by
// default; a page holds up to the server's default page size).
const maxSessionPages = 100

// VersionedSession is the current session with the version of its data.
type VersionedSession struct {
	Session
	// Version is the data's entity tag (the ETag header, such as `"3"`). Give it to
	// PatchSessionData to change the data only if nobody changed it since.
	Version string
}

// Session returns the current session, its data and the data's version. Errors: ErrSignedOut,
// or a *Problem.
func (c *Client) Session(ctx context.Context) (VersionedSession, error) {
	resp, err := c.authed.GetSession(ctx, nil)
	s, err := decode[Session](resp, err, http.StatusOK)
	if err != nil {
		return VersionedSession{}, err
	}
	return VersionedSession{Session: s, Version: resp.Header.Get("ETag")}, nil
}

// PatchSessionData changes the current session's data with a JSON Merge Patch (RFC 7396,
// sent as application/merge-patch+json): for each key, nil deletes it, a map is merged into
// the current value, anything else replaces it. With a version (from Session or an earlier
// patch) the patch applies only to that version of the data, else it fails with a *Problem
// with code precondition_failed (412); "" patches whatever the version. It returns the updated
// session and its new version. Other errors: ErrSignedOut, or a *Problem
// (invalid_session_data, session_data_too_large, conflict...).
func (c *Client) PatchSessionData(ctx context.Context, patch SessionDataPatch, version string) (VersionedSession, error) {
	var params PatchSessionDataParams
	if version != "" {
		params.IfMatch = &version
	}
	resp, err := c.authed.PatchSessionDataWithApplicationMergePatchPlusJSONBody(ctx, &params, patch)
	s, err := decode[Session](resp, err, http.StatusOK)
	if err != nil {
		return VersionedSession{}, err
	}
	return VersionedSession{Session: s, Version: resp.Header.Get("ETag")}, nil
}

// Sessions lists the user's live sessions, most recently used first, reading every page.
// Errors: ErrSignedOut, or a *Problem.
func (c *Client) Sessions(ctx context.Context) ([]SessionSummary, error) {
	var all []SessionSummary
	var params ListSessionsParams
	for range maxSessionPages {
		resp, err := c.authed.ListSessions(ctx, &params)
		page, err := decode[SessionList](resp, err, http.StatusOK)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all, nil
		}
		params.Cursor = page.NextCursor
	}
	return nil, fmt.Errorf("boxoffice: GET /v1/sessions: more than %d pages", maxSessionPages)
}
