package app

import (
	"maps"
	"strings"
	"testing"
	"time"

	"kirjuri/adapters/jobs"
)

func TestJobsConfig(t *testing.T) {
	tests := []struct {
		name string
		give string
		env  map[string]string
		want jobs.Config
	}{
		{"defaults", "{}", nil,
			jobs.Config{Queues: map[string]int{"default": 4, "imports": 1, "pushes": 2}, StopTimeout: 10 * time.Second, JobTimeout: 30 * time.Minute}},
		{"queues from the file, no default queue", "jobs:\n  workers: 0\n  queues:\n    imports: 1\n    connectors: 3\n  stopTimeout: 5s\n  jobTimeout: 2h\n", nil,
			jobs.Config{Queues: map[string]int{"imports": 1, "connectors": 3, "pushes": 2}, StopTimeout: 5 * time.Second, JobTimeout: 2 * time.Hour}},
		{"rescue delay", "jobs:\n  jobTimeout: 10s\n  rescueAfter: 15s\n", nil,
			jobs.Config{Queues: map[string]int{"default": 4, "imports": 1, "pushes": 2}, StopTimeout: 10 * time.Second, JobTimeout: 10 * time.Second, RescueAfter: 15 * time.Second}},
		{"workers from the environment", "jobs:\n  workers: 8\n", map[string]string{"KIRJURI_JOBS_WORKERS": "2"},
			jobs.Config{Queues: map[string]int{"default": 2, "imports": 1, "pushes": 2}, StopTimeout: 10 * time.Second, JobTimeout: 30 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := LoadConfig(writeConfig(t, tt.give+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := jobsConfig(c)
			if !maps.Equal(got.Queues, tt.want.Queues) || got.StopTimeout != tt.want.StopTimeout || got.JobTimeout != tt.want.JobTimeout || got.RescueAfter != tt.want.RescueAfter {
				t.Errorf("jobsConfig = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestJobsConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{"unknown key", "jobs:\n  wrokers: 2", "wrokers"},
		{"negative workers", "jobs:\n  workers: -1", "jobs.workers (KIRJURI_JOBS_WORKERS): must be 0 to 1000, not -1"},
		{"workers not a number", "jobs:\n  workers: many", "jobs.workers"},
		{"default among the queues", "jobs:\n  queues:\n    default: 2", "jobs.queues.default: the default queue's workers are jobs.workers"},
		{"bad queue name", "jobs:\n  queues:\n    Imports!: 2", `queue name "Imports!"`},
		{"queue without workers", "jobs:\n  queues:\n    imports: 0", "jobs.queues.imports: must be 1 to 1000 workers, not 0"},
		{"no stop timeout", "jobs:\n  stopTimeout: 0s", "jobs.stopTimeout: must be more than 0s and at most 20s, not 0s"},
		{"stop timeout beyond the stop", "jobs:\n  stopTimeout: 1m", "jobs.stopTimeout"},
		{"job timeout too short", "jobs:\n  jobTimeout: 10ms", "jobs.jobTimeout: must be at least 1s, not 10ms"},
		{"rescue sooner than the job timeout", "jobs:\n  rescueAfter: 10m", "jobs.rescueAfter: must be 0s (River's default, jobs.jobTimeout + 1h) or at least 1s and at least jobs.jobTimeout (30m0s), not 10m0s"},
		{"rescue delay without a unit", "jobs:\n  jobTimeout: 1s\n  rescueAfter: 5", "jobs.rescueAfter: must be 0s"},
		{"negative rescue delay", "jobs:\n  rescueAfter: -1h", "jobs.rescueAfter"},
		{"rescue delay not a duration", "jobs:\n  rescueAfter: soon", "rescueAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetEnv(t)
			_, err := LoadConfig(writeConfig(t, tt.give+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadConfig error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
