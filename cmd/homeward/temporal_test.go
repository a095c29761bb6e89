package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/rpc/encryption"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"
)

// temporalServerName is the only name the test server's certificate holds:
// dialling 127.0.0.1 verifies only when TEMPORAL_TLS_SERVER_NAME says it.
const temporalServerName = "temporal.homeward.test"

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Homeward test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// issued is a certificate and its key, as PEM.
type issued struct{ cert, key []byte }

// issue signs a leaf certificate for a server (dnsName set) or a client.
func (ca *testCA) issue(t *testing.T, serial int64, dnsName string, usage x509.ExtKeyUsage) issued {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "homeward test " + dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	if dnsName != "" {
		tmpl.DNSNames = []string{dnsName}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return issued{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}

func keyPair(t *testing.T, i issued) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(i.cert, i.key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startTLSTemporal starts an embedded Temporal server whose frontend speaks
// only TLS and requires a client certificate from ca (mutual TLS, as a
// self-hosted cluster with mTLS or Temporal Cloud does). Its own services
// talk to each other in plain text.
func startTLSTemporal(t *testing.T, ca *testCA) *temporaltest.TestServer {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	server := keyPair(t, ca.issue(t, 2, temporalServerName, x509.ExtKeyUsageServerAuth))
	internal := keyPair(t, ca.issue(t, 3, "", x509.ExtKeyUsageClientAuth))
	return temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(
		temporal.WithTLSConfigFactory(&encryption.FixedTLSConfigProvider{
			FrontendServerConfig: &tls.Config{
				Certificates: []tls.Certificate{server},
				ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
			},
			// The server's own system worker dials its frontend too.
			FrontendClientConfig: &tls.Config{
				Certificates: []tls.Certificate{internal},
				RootCAs:      pool, ServerName: temporalServerName,
			},
		})))
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Homeward dials a Temporal cluster that needs TLS and a client certificate
// from the standard TEMPORAL_* variables, and only with the right CA,
// server name and certificate.
func TestDialTemporalWithTLSFromTemporalVariables(t *testing.T) {
	ca := newTestCA(t)
	ts := startTLSTemporal(t, ca)
	dir := t.TempDir()
	client := ca.issue(t, 4, "", x509.ExtKeyUsageClientAuth)
	full := map[string]string{
		"HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS": "true",
		"TEMPORAL_CONFIG_FILE":              filepath.Join(dir, "no-profile.toml"),
		"TEMPORAL_ADDRESS":                  ts.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE":                ts.GetDefaultNamespace(),
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH":  writeFile(t, dir, "ca.pem", ca.pem),
		"TEMPORAL_TLS_SERVER_NAME":          temporalServerName,
		"TEMPORAL_TLS_CLIENT_CERT_PATH":     writeFile(t, dir, "client.pem", client.cert),
		"TEMPORAL_TLS_CLIENT_KEY_PATH":      writeFile(t, dir, "client-key.pem", client.key),
	}
	without := func(keys ...string) map[string]string {
		env := map[string]string{"TEMPORAL_TLS": "true"}
		for k, v := range full {
			env[k] = v
		}
		for _, k := range keys {
			delete(env, k)
		}
		return env
	}
	dial := func(env map[string]string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		tc, err := dialTemporal(ctx, testConfig(t, env), quietLog(), nil, nil)
		if err != nil {
			return err
		}
		defer tc.Close()
		_, err = tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ts.GetDefaultNamespace()})
		return err
	}

	if err := dial(full); err != nil {
		t.Fatalf("with the CA, the server name and a client certificate: %v", err)
	}
	refused := map[string]map[string]string{
		"without the CA":                   without("TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
		"without the server name":          without("TEMPORAL_TLS_SERVER_NAME"),
		"without a client certificate":     without("TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"),
		"in plain text (no TEMPORAL_TLS*)": {"HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS": "true", "TEMPORAL_CONFIG_FILE": full["TEMPORAL_CONFIG_FILE"], "TEMPORAL_ADDRESS": full["TEMPORAL_ADDRESS"], "TEMPORAL_NAMESPACE": full["TEMPORAL_NAMESPACE"]},
	}
	for name, env := range refused {
		err := dial(env)
		if err == nil {
			t.Errorf("%s: dialled a TLS cluster with a client certificate required, want a refusal", name)
			continue
		}
		t.Logf("%s: refused: %v", name, err)
	}
}
