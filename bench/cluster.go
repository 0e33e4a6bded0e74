package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow/provider/twilio/twiliotest"
	"github.com/smsflow/smsflow/store"
)

// A cluster is several `smsflow serve` processes of one binary on one
// PostgreSQL database, sending through one fake Twilio on loopback: what
// `smsflow bench cluster` measures and what the chaos test
// (internal/tools/chaos) kills and restarts. Child processes rather than
// apps in this process: a node is killed with SIGKILL, and each has its
// own connection pools and node id, as real nodes do.

// The fake account the cluster's nodes send with.
const (
	ClusterSID    = "AC00000000000000000000000000000c1a"
	ClusterToken  = "cluster-auth-token-0123456789abcd"
	ClusterFrom   = "+15005550006"
	ClusterServer = "sk_cluster" // the server key of every node
	ClusterAdmin  = "ak_cluster"
	clusterPublic = "https://sms.cluster.invalid"
)

// ClusterConfig is how a cluster is started.
type ClusterConfig struct {
	Binary string // the smsflow binary
	DSN    string // postgres://… (a fresh schema is the caller's business)
	Nodes  int
	// Flows are written as files (name → YAML) into the flows directory
	// every node loads.
	Flows map[string]string
	// Rate is twilio.rate ("" unpaced).
	Rate string
	// Env is added to every node's environment (SMSFLOW_NODE_TTL=…).
	Env []string
	// Latency is the fake Twilio's time per answer.
	Latency time.Duration
	// Log receives every node's log lines, prefixed with its number (nil:
	// kept only in memory).
	Log io.Writer
}

// Cluster is a running set of nodes and their fake Twilio.
type Cluster struct {
	cfg   ClusterConfig
	dir   string
	Fake  *twiliotest.Server
	nodes []*clusterNode
}

// clusterNode is one node: its fixed address (so a restart has the same
// node id, as a real node restarting on its host and port) and its current
// process, if any.
type clusterNode struct {
	i      int
	addr   string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	up     bool
	starts int
	logs   bytes.Buffer
}

// StartCluster starts the fake Twilio and the nodes, one after the other
// (the first migrates the database).
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if store.Scheme(cfg.DSN) != "postgres" {
		return nil, errors.New("a cluster runs on PostgreSQL: give a postgres:// URL")
	}
	if cfg.Nodes < 1 {
		cfg.Nodes = 1
	}
	fake, err := twiliotest.Start(twiliotest.Config{AccountSID: ClusterSID, AuthToken: ClusterToken, Latency: cfg.Latency})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "smsflow-cluster-")
	if err != nil {
		fake.Close()
		return nil, err
	}
	c := &Cluster{cfg: cfg, dir: dir, Fake: fake}
	for name, src := range cfg.Flows {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for i := range cfg.Nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.Stop()
			return nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		c.nodes = append(c.nodes, &clusterNode{i: i, addr: addr})
	}
	for i := range c.nodes {
		if err := c.Start(ctx, i); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Nodes is how many nodes the cluster has (up or down).
func (c *Cluster) Nodes() int { return len(c.nodes) }

// URL is node i's base URL; "" while it is down.
func (c *Cluster) URL(i int) string {
	n := c.nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.up {
		return ""
	}
	return "http://" + n.addr
}

// NodeID is node i's id in the database (host name and listen address).
func (c *Cluster) NodeID(i int) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return host + "/" + c.nodes[i].addr
}

// Start starts node i and waits until it serves.
func (c *Cluster) Start(ctx context.Context, i int) error {
	n := c.nodes[i]
	cmd := exec.Command(c.cfg.Binary, "serve", "--db", c.cfg.DSN, "--addr", n.addr)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(),
		"SMSFLOW_PROVIDER=twilio", "SMSFLOW_TWILIO_ACCOUNT_SID="+ClusterSID, "SMSFLOW_TWILIO_AUTH_TOKEN="+ClusterToken,
		"SMSFLOW_TWILIO_FROM="+ClusterFrom, "SMSFLOW_TWILIO_API_BASE="+c.Fake.URL(), "SMSFLOW_TWILIO_RATE="+c.cfg.Rate,
		"SMSFLOW_TWILIO_RECONCILE_AFTER=2s", "SMSFLOW_PUBLIC_URL="+clusterPublic, "SMSFLOW_FLOWS="+c.dir,
		"SMSFLOW_WRITE_KEY=wk_cluster", "SMSFLOW_SERVER_KEY="+ClusterServer, "SMSFLOW_ADMIN_KEY="+ClusterAdmin,
		"SMSFLOW_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, c.cfg.Env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	exited := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.exited, n.starts = cmd, exited, n.starts+1
	gen := n.starts
	n.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := fmt.Sprintf("node %d.%d: %s\n", i, gen, sc.Text())
			n.mu.Lock()
			n.logs.WriteString(line)
			n.mu.Unlock()
			if c.cfg.Log != nil {
				io.WriteString(c.cfg.Log, line)
			}
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		n.mu.Lock()
		n.up = false
		n.mu.Unlock()
		close(exited)
	}()
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				ready <- nil
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("node %d exited before it served; its log:\n%s", i, c.Log(i))
	}()
	select {
	case err := <-ready:
		if err != nil {
			return err
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("node %d did not serve within 60 s; its log:\n%s", i, c.Log(i))
	case <-ctx.Done():
		cmd.Process.Kill()
		return ctx.Err()
	}
	n.mu.Lock()
	n.up = true
	n.mu.Unlock()
	return nil
}

// Kill kills node i with SIGKILL and waits until it is gone.
func (c *Cluster) Kill(i int) {
	c.signal(i, syscall.SIGKILL)
}

// Exited reports whether node i's process has ended (killed, or on its own).
func (c *Cluster) Exited(i int) bool {
	n := c.nodes[i]
	n.mu.Lock()
	ch := n.exited
	n.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (c *Cluster) signal(i int, sig syscall.Signal) {
	n := c.nodes[i]
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.up = false
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Log is what node i logged, over all its processes.
func (c *Cluster) Log(i int) string {
	n := c.nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// Stop ends every node (SIGTERM: a clean stop) and the fake Twilio, and
// removes the flows directory. Safe to call twice.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.signal(i, syscall.SIGTERM) }()
	}
	wg.Wait()
	if c.Fake != nil {
		c.Fake.Close()
	}
	os.RemoveAll(c.dir)
}

// Post sends body to path on node i with the server key; the status (0
// when the node could not be reached).
func (c *Cluster) Post(ctx context.Context, hc *http.Client, i int, path, body string) (int, error) {
	u := c.URL(i)
	if u == "" {
		return 0, errors.New("down")
	}
	req, err := http.NewRequestWithContext(ctx, "POST", u+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(ClusterServer, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// MessageOf is the smsflow message id a request to the fake Twilio was
// for, from its StatusCallback URL (?m=ID); 0 when it has none.
func MessageOf(r twiliotest.Request) int64 {
	m := messageParam.FindStringSubmatch(r.StatusCallback)
	if m == nil {
		return 0
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

var messageParam = regexp.MustCompile(`[?&]m=(\d+)`)

// MostInOneSecond is the most requests the fake received within any
// sliding second, and when that second began.
func MostInOneSecond(reqs []twiliotest.Request) (int, time.Time) {
	at := make([]time.Time, len(reqs))
	for i, r := range reqs {
		at[i] = r.At
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	most, when, j := 0, time.Time{}, 0
	for i := range at {
		for j < len(at) && at[j].Before(at[i].Add(time.Second)) {
			j++
		}
		if j-i > most {
			most, when = j-i, at[i]
		}
	}
	return most, when
}

// clusterFlow sends one service message per event, naming its ref: the
// benchmark's trigger → send path.
const clusterFlow = `id: cluster
name: Cluster benchmark
category: service
trigger:
  event: Cluster Ping
steps:
  - id: ping
    send: "Ping {{ event.properties.ref }}"
`

var clusterRefRe = regexp.MustCompile(`Ping (c\d+-\d+)`)

// clusterOptions configures `bench cluster`.
type clusterOptions struct {
	DSN     string
	Nodes   []int
	Events  int
	Clients int
	Rate    string
	Latency time.Duration
	Binary  string
	Timeout time.Duration
	Keep    bool
}

// clusterResult is one measured run of n nodes.
type clusterResult struct {
	Nodes            int
	Events, Sends    int
	IngestTime       time.Duration // first event posted to the last acknowledged
	SendTime         time.Duration // first event posted to the last send at the provider
	P50, P99         time.Duration // trigger (event posted) to its send reaching the provider
	Duplicates       int
	Busiest          int // most sends within one sliding second
	Incomplete       string
	EventsPerSecond  float64
	SendsPerSecond   float64
	BusiestStartedAt time.Time
}

// ClusterBench is `smsflow bench cluster`.
func ClusterBench(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench cluster", flag.ContinueOnError)
	var o clusterOptions
	nodes := "1,2,3"
	fs.StringVar(&o.DSN, "db", "", "PostgreSQL `URL` (a fresh schema per node count, dropped afterwards; default $SMSFLOW_TEST_POSTGRES)")
	fs.StringVar(&nodes, "nodes", nodes, "node counts to measure, comma-separated")
	fs.IntVar(&o.Events, "events", 3000, "events per node count, one send each")
	fs.IntVar(&o.Clients, "clients", 8, "concurrent /v1/track clients, spread over the nodes")
	fs.StringVar(&o.Rate, "rate", "", "twilio.rate of the sender (default: unpaced)")
	fs.DurationVar(&o.Latency, "latency", time.Millisecond, "the fake Twilio's time per answer")
	fs.StringVar(&o.Binary, "binary", "", "the smsflow binary the nodes run (default: this one)")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up a node count after this long")
	fs.BoolVar(&o.Keep, "keep", false, "keep each PostgreSQL schema afterwards")
	if err := h.ParseFlags(fs, args, stderr); err != nil {
		return err
	}
	for _, f := range strings.Split(nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			return fmt.Errorf("--nodes %q: write node counts from 1 to 16, comma-separated, e.g. 1,2,3", nodes)
		}
		o.Nodes = append(o.Nodes, n)
	}
	if o.DSN == "" {
		o.DSN = os.Getenv("SMSFLOW_TEST_POSTGRES")
	}
	if store.Scheme(o.DSN) != "postgres" {
		return errors.New("bench cluster runs several nodes on one PostgreSQL: give --db postgres://… (or set SMSFLOW_TEST_POSTGRES)")
	}
	if o.Events < 1 || o.Clients < 1 {
		return errors.New("--events and --clients must be at least 1")
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary (give --binary): %w", err)
		}
		o.Binary = exe
	}
	var results []clusterResult
	for _, n := range o.Nodes {
		fmt.Fprintf(stderr, "bench cluster: %d node(s), %d events…\n", n, o.Events)
		r, err := runCluster(ctx, o, n)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	printCluster(stdout, o, results)
	for _, r := range results {
		if r.Duplicates > 0 || r.Incomplete != "" {
			return fmt.Errorf("bench cluster: %d nodes: %d duplicate sends, %s", r.Nodes, r.Duplicates, r.Incomplete)
		}
	}
	return nil
}

// runCluster measures one node count on a fresh schema.
func runCluster(ctx context.Context, o clusterOptions, n int) (clusterResult, error) {
	res := clusterResult{Nodes: n, Events: o.Events}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	dsn, drop, err := freshDatabase(ctx, o.DSN, o.Keep)
	if err != nil {
		return res, err
	}
	defer drop()
	c, err := StartCluster(ctx, ClusterConfig{Binary: o.Binary, DSN: dsn, Nodes: n, Rate: o.Rate, Latency: o.Latency,
		Flows: map[string]string{"cluster.yaml": clusterFlow}})
	if err != nil {
		return res, err
	}
	defer c.Stop()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients}}
	// The contacts first (not measured).
	id := func(k int) string { return fmt.Sprintf("c%d-%06d", n, k) }
	for from := 0; from < o.Events; from += 500 {
		var items []string
		for k := from; k < min(from+500, o.Events); k++ {
			ph, _ := Phone(k)
			items = append(items, fmt.Sprintf(`{"type":"identify","userId":%q,"traits":{"phone":%q},"messageId":"id-%s"}`, id(k), ph, id(k)))
		}
		if st, err := c.Post(ctx, hc, from/500%n, "/v1/batch", `{"batch":[`+strings.Join(items, ",")+`]}`); err != nil || st != 200 {
			return res, fmt.Errorf("identify contacts: HTTP %d %v", st, err)
		}
	}
	// The measured part: one /v1/track per event, the clients spread over
	// the nodes; each event's post time is its trigger time.
	posted := make([]time.Time, o.Events)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.Clients)
	began := time.Now()
	for cl := range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= o.Events {
					return
				}
				body := fmt.Sprintf(`{"userId":%q,"event":"Cluster Ping","messageId":"ev-%s","properties":{"ref":%q}}`, id(k), id(k), id(k))
				posted[k] = time.Now()
				st, err := c.Post(ctx, hc, cl%n, "/v1/track", body)
				if err != nil || st/100 != 2 {
					errs <- fmt.Errorf("track: HTTP %d %v", st, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	res.IngestTime = time.Since(began)
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	if err := c.Fake.AwaitCount(ctx, int64(o.Events)); err != nil {
		res.Incomplete = fmt.Sprintf("%d of %d sends reached the provider before the timeout", c.Fake.Count(), o.Events)
	}
	reqs := c.Fake.Requests()
	var lat latencies
	seen := map[string]bool{}
	var last time.Time
	for _, r := range reqs {
		m := clusterRefRe.FindStringSubmatch(r.Body)
		if m == nil {
			continue
		}
		if seen[m[1]] {
			res.Duplicates++
			continue
		}
		seen[m[1]] = true
		k, _ := strconv.Atoi(m[1][strings.IndexByte(m[1], '-')+1:])
		if k < len(posted) {
			lat.add(r.At.Sub(posted[k]))
		}
		if r.At.After(last) {
			last = r.At
		}
	}
	res.Sends = len(seen)
	res.SendTime = last.Sub(began)
	res.P50, res.P99 = lat.quantile(0.50), lat.quantile(0.99)
	res.Busiest, res.BusiestStartedAt = MostInOneSecond(reqs)
	res.EventsPerSecond = perSecond(int64(o.Events), res.IngestTime)
	res.SendsPerSecond = perSecond(int64(res.Sends), res.SendTime)
	return res, nil
}

func printCluster(w io.Writer, o clusterOptions, rs []clusterResult) {
	rate := o.Rate
	if rate == "" {
		rate = "unpaced"
	}
	fmt.Fprintf(w, "bench cluster: %d events per run, %d clients, twilio.rate %s, fake Twilio latency %s, one PostgreSQL\n", o.Events, o.Clients, rate, o.Latency)
	fmt.Fprintln(w, "(all nodes, PostgreSQL and the load share this machine: on one machine this measures the coordination overhead of more nodes, not scale-out)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "nodes\tevents/s in\tsends/s out\tvs %d node(s)\tp50 trigger→send ms\tp99 trigger→send ms\tbusiest second\tduplicates\t\n", rs[0].Nodes)
	base := rs[0].SendsPerSecond
	for _, r := range rs {
		ratio := "—"
		if base > 0 {
			ratio = fmt.Sprintf("%.2f×", r.SendsPerSecond/base)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%s\t%.1f\t%.1f\t%d\t%d\t\n", r.Nodes, r.EventsPerSecond, r.SendsPerSecond, ratio, ms(r.P50), ms(r.P99), r.Busiest, r.Duplicates)
	}
	tw.Flush()
	for _, r := range rs {
		if r.Incomplete != "" {
			fmt.Fprintf(w, "%d nodes: INCOMPLETE: %s\n", r.Nodes, r.Incomplete)
		}
	}
}

// FreshDatabase is a fresh schema of the PostgreSQL database dsn (see
// freshDatabase), for the chaos test's cluster; drop removes it.
func FreshDatabase(ctx context.Context, dsn string, keep bool) (string, func(), error) {
	return freshDatabase(ctx, dsn, keep)
}
