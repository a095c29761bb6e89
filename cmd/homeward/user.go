package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"homeward/api"
	"homeward/store"
	"homeward/web"
)

func runUserAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the user's name")
	email := fs.String("email", "", "the user's email address (escalations and reminders go here)")
	role := fs.String("role", "", "coordinator, interviewer, manager, admin or commissioner_officer")
	commissioner := fs.String("commissioner", "", "the commissioner (local authority) the user works for, created if missing; leave out for the provider's own staff")
	gender := fs.String("gender", "", "optional: the interviewer's gender, checked against a child's preferred worker gender")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var problems []string
	if strings.TrimSpace(*name) == "" {
		problems = append(problems, "--name is required")
	}
	if addr, err := mail.ParseAddress(*email); err != nil || addr.Address != *email {
		problems = append(problems, "--email must be a plain email address such as sam@example.org")
	}
	valid := false
	for _, r := range store.Roles {
		if string(r) == *role {
			valid = true
		}
	}
	if !valid {
		problems = append(problems, "--role must be coordinator, interviewer, manager, admin or commissioner_officer")
	}
	if store.Role(*role) == store.RoleCommissionerOfficer && strings.TrimSpace(*commissioner) == "" {
		problems = append(problems, "--commissioner is required for a commissioner_officer")
	}
	if len(*gender) > 200 {
		problems = append(problems, "--gender must be at most 200 characters")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}

	st, done, err := openStore(ctx, stderr, true)
	if err != nil {
		return err
	}
	defer done()
	var com store.Commissioner
	if strings.TrimSpace(*commissioner) != "" {
		if com, err = st.EnsureCommissioner(ctx, *commissioner); err != nil {
			return err
		}
	}
	token, hash, err := api.NewToken()
	if err != nil {
		return err
	}
	u, err := st.CreateUser(ctx, strings.TrimSpace(*name), *email, store.Role(*role), hash)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("a user with email %s already exists", *email)
	}
	if err != nil {
		return err
	}
	if g := strings.TrimSpace(*gender); g != "" {
		if err := st.SetUserGender(ctx, u.ID, g); err != nil {
			return err
		}
	}
	if com.ID != "" {
		if err := st.SetUserCommissioner(ctx, u.ID, com.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Works for commissioner %s (id %s).\n", com.Name, com.ID)
	}
	fmt.Fprintf(stdout, "Created %s %s <%s> (id %s).\nAPI token, shown only now; send it as \"Authorization: Bearer <token>\":\n%s\n", u.Role, u.Name, u.Email, u.ID, token)
	return printSignInLink(ctx, st, u, stdout)
}

// printSignInLink makes a one-time link that signs u in to the web.
func printSignInLink(ctx context.Context, st *store.Store, u store.User, stdout io.Writer) error {
	cfg, _, err := loadConfig("text")
	if err != nil {
		return err
	}
	link, err := web.NewSignInLink(ctx, st, u, cfg.Web.PublicURL, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Web sign-in link for %s, works once within %d minutes:\n%s\n", u.Email, int(web.LinkLifetime.Minutes()), link)
	return nil
}

// runUserLink prints a new one-time sign-in link for an existing user.
func runUserLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the user's email address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if strings.TrimSpace(*email) == "" {
		return errors.New("--email is required")
	}
	st, done, err := openStore(ctx, stderr, true)
	if err != nil {
		return err
	}
	defer done()
	u, err := st.ActiveUserByEmail(ctx, *email)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no active user has email %s", *email)
	}
	if err != nil {
		return err
	}
	return printSignInLink(ctx, st, u, stdout)
}
