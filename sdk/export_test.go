package sdk

// SetOnWait makes every call of c run f when it starts waiting for a token change in progress
// (a refresh, Login, Logout...), so that tests know a call is waiting. Set it before c is used.
func SetOnWait(c *Client, f func()) { c.src.onWait = f }
