// A second subject for podlife: the chapter's web app as a stranger would write it.
//
// It honours only the chapter's HTTP API (GET /ping, POST /write, GET /read, GET /quit on
// port 8080) and otherwise differs from podlife's own service in every habit a measurement
// could lean on: a static binary in an image FROM scratch (no shell, no tools), plain-text
// logs, its own way of waiting for the database (a ping every 250 ms), no readiness
// endpoint, and GET /quit answers and then exits with status 0.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	_ "github.com/lib/pq"
)

type line struct {
	ID   int    `json:"id"`
	Data string `json:"data"`
}

func main() {
	dsn := fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s sslmode=disable connect_timeout=2",
		os.Getenv("db_host"), or(os.Getenv("db_port"), "5432"), os.Getenv("db_user"), os.Getenv("db_pass"),
		os.Getenv("db_name"))
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		log.Fatalf("bad database settings: %v", err)
	}
	for attempt := 1; ; attempt++ {
		if err := db.Ping(); err == nil {
			log.Printf("database answered at attempt %d", attempt)
			break
		} else if attempt%20 == 1 {
			log.Printf("waiting for the database: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	quit := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>ok</html>") })
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) { write(db, w, r) })
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) { read(db, w) })
	mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>ok</html>")
		quit <- struct{}{}
	})
	srv := &http.Server{Addr: ":" + or(os.Getenv("PORT"), "8080"), Handler: mux}
	go func() {
		<-quit
		log.Printf("quit asked for: stopping")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) // the /quit answer goes out in full first
		os.Exit(0)
	}()
	log.Printf("listening on %s", srv.Addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	select {} // Shutdown runs; os.Exit follows
}

func or(value, otherwise string) string {
	if value == "" {
		return otherwise
	}
	return value
}

// ensure makes the table where it is missing: a database that came back empty is used again.
func ensure(db *sql.DB) error {
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS lines (id serial PRIMARY KEY, data text)`)
	return err
}

func write(db *sql.DB, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var body struct {
		Data *string `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.Data == nil {
		http.Error(w, "expected {\"data\": \"...\"}", http.StatusBadRequest)
		return
	}
	if err := ensure(db); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	if _, err := db.Exec(`INSERT INTO lines (data) VALUES ($1)`, *body.Data); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"success": "true"}`)
}

func read(db *sql.DB, w http.ResponseWriter) {
	lines := []line{}
	err := ensure(db)
	var rows *sql.Rows
	if err == nil {
		rows, err = db.Query(`SELECT id, data FROM lines ORDER BY id`)
	}
	if err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var l line
		if err := rows.Scan(&l.ID, &l.Data); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		lines = append(lines, l)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"success": "true", "Lines": lines})
}
